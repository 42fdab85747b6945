//! Applying a patch document to an AIR: every operation in order against
//! one working copy, the result validated as a whole (ARCHITECTURE.md,
//! "Governance").

use super::*;

/// [`apply_in`] with module sources taken as written (as [`patch_from_dirs`]
/// writes them: already resolved).
pub fn apply(base: &Air, doc: &PatchDoc) -> Result<Air, Vec<String>> {
    apply_in(base, doc, Path::new(""))
}

/// Applies `doc` to `base` and returns the new AIR, loaded and validated as
/// a whole; or every reason it cannot be applied: a stale base, a wrong
/// `pre_hash`, a definition added twice or replaced or removed while
/// missing, two patches on one definition; or, when the patches themselves
/// apply, every diagnostic of the result (validation runs only then: a
/// result built from patches that did not apply would explain nothing).
///
/// A module's relative `source` in a patch node is resolved against
/// `world_dir`. A replaced module without a `wasm_hash` whose `source` is
/// absent or the base's keeps the base's built `wasm_hash` (and `source`).
pub fn apply_in(base: &Air, doc: &PatchDoc, world_dir: &Path) -> Result<Air, Vec<String>> {
    let (Some(base_hash), Some(base_manifest)) = (base.manifest_hash(), &base.manifest) else {
        return Err(vec!["the world has no manifest to patch".into()]);
    };
    let mut reasons = Vec::new();
    if base_hash != doc.base_manifest_hash {
        reasons.push(format!(
            "stale base: the patch was made against manifest {}, but the world's manifest is \
             {base_hash}",
            doc.base_manifest_hash
        ));
    }
    let mut state = State {
        base,
        world_dir,
        defs: BTreeMap::new(),
        touched: BTreeMap::new(),
        manifest: node_json(base, DefKind::Manifest, "", Form::Source).unwrap_or(Json::Null),
        reasons,
    };
    for kind in DEF_KINDS {
        for name in names(base, kind) {
            if let Some((file, json_path)) = def_origin(base, kind, name) {
                let node = node_json(base, kind, name, Form::Source).unwrap_or(Json::Null);
                let source = SourceNode {
                    file,
                    json_path,
                    node,
                };
                state.defs.insert((kind, name.clone()), source);
            }
        }
    }
    for (i, p) in doc.patches.iter().enumerate() {
        state.apply(i, p);
    }
    if !state.reasons.is_empty() {
        return Err(state.reasons);
    }
    let mut nodes: Vec<SourceNode> = state.defs.into_values().collect();
    nodes.push(SourceNode {
        file: base_manifest.file.clone(),
        json_path: base_manifest.json_path.clone(),
        node: state.manifest,
    });
    let air = Air::from_nodes(&nodes, Path::new(""));
    if air.diagnostics.is_empty() {
        Ok(air)
    } else {
        Err(air.diagnostics.iter().map(ToString::to_string).collect())
    }
}

fn def_origin(air: &Air, kind: DefKind, name: &str) -> Option<(PathBuf, String)> {
    let pick = |file: &PathBuf, path: &String| (file.clone(), path.clone());
    match kind {
        DefKind::Schema => air.schemas.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Module => air.modules.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Plan => air.plans.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Cap => air.caps.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Policy => air.policies.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Manifest => None,
    }
}

/// The nodes being patched.
struct State<'a> {
    base: &'a Air,
    world_dir: &'a Path,
    defs: BTreeMap<(DefKind, String), SourceNode>,
    /// Which patch changed each definition.
    touched: BTreeMap<(DefKind, String), usize>,
    /// The manifest node, in the loader's form.
    manifest: Json,
    reasons: Vec<String>,
}

fn list_key(kind: DefKind) -> &'static str {
    match kind {
        DefKind::Schema => "schemas",
        DefKind::Module => "modules",
        DefKind::Plan => "plans",
        DefKind::Cap => "caps",
        DefKind::Policy => "policies",
        DefKind::Manifest => "manifest",
    }
}

impl State<'_> {
    fn apply(&mut self, i: usize, p: &Patch) {
        let at = format!("patches[{i}]");
        match p {
            Patch::AddDef { kind, node } => {
                let Some(name) = self.def_target(i, &at, "add_def", *kind, node.get("name")) else {
                    return;
                };
                if self.defs.contains_key(&(*kind, name.clone())) {
                    self.reasons.push(format!(
                        "{at}: add_def {kind} {name}: it is already defined (use replace_def)"
                    ));
                    return;
                }
                let Some(node) = self.prepared(&at, *kind, &name, node) else {
                    return;
                };
                let source = SourceNode {
                    file: PathBuf::from(format!("{at}.add_def.node")),
                    json_path: "$".into(),
                    node,
                };
                self.defs.insert((*kind, name), source);
            }
            Patch::ReplaceDef {
                kind,
                name,
                new_node,
                pre_hash,
            } => {
                let name_json = Json::String(name.clone());
                if self
                    .def_target(i, &at, "replace_def", *kind, Some(&name_json))
                    .is_none()
                    || !self.pre_hash_ok(&at, "replace_def", *kind, name, pre_hash)
                {
                    return;
                }
                let Some(mut node) = self.prepared(&at, *kind, name, new_node) else {
                    return;
                };
                if let Some(m) = self
                    .base
                    .modules
                    .get(name)
                    .filter(|_| *kind == DefKind::Module)
                {
                    keep_build(&mut node, m);
                }
                let source = SourceNode {
                    file: PathBuf::from(format!("{at}.replace_def.new_node")),
                    json_path: "$".into(),
                    node,
                };
                self.defs.insert((*kind, name.clone()), source);
            }
            Patch::RemoveDef {
                kind,
                name,
                pre_hash,
            } => {
                let name_json = Json::String(name.clone());
                if self
                    .def_target(i, &at, "remove_def", *kind, Some(&name_json))
                    .is_some()
                    && self.pre_hash_ok(&at, "remove_def", *kind, name, pre_hash)
                {
                    self.defs.remove(&(*kind, name.clone()));
                }
            }
            Patch::SetManifestRefs { add, remove } => {
                for (j, r) in add.iter().enumerate() {
                    let at = format!("{at}.set_manifest_refs.add[{j}]");
                    let Some(list) = self.ref_list(&at, r.kind) else {
                        continue;
                    };
                    if list.iter().any(|e| e["name"] == r.name.as_str()) {
                        let msg = format!("{at}: {} {} is already listed", r.kind, r.name);
                        self.reasons.push(msg);
                        continue;
                    }
                    let mut entry = json!({"name": r.name});
                    if let Some(h) = r.hash {
                        entry["hash"] = json!(h.to_string());
                    }
                    list.push(entry);
                }
                for (j, (kind, name)) in remove.iter().enumerate() {
                    let at = format!("{at}.set_manifest_refs.remove[{j}]");
                    let Some(list) = self.ref_list(&at, *kind) else {
                        continue;
                    };
                    match list.iter().position(|e| e["name"] == name.as_str()) {
                        Some(pos) => {
                            list.remove(pos);
                        }
                        None => {
                            let msg = format!("{at}: {kind} {name} is not listed in the manifest");
                            self.reasons.push(msg);
                        }
                    }
                }
            }
            Patch::SetDefaults { policy, cap_grants } => {
                let defaults = &mut self.manifest["defaults"];
                if let (Some(policy), Some(d)) = (policy, defaults.as_object_mut()) {
                    match policy {
                        Some(p) => d.insert("policy".into(), json!(p)),
                        None => d.remove("policy"),
                    };
                }
                if let Some(g) = cap_grants {
                    defaults["cap_grants"] = g.clone();
                }
            }
            Patch::SetRoutingEvents { events } => {
                self.manifest["routing"]["events"] = events.clone();
            }
            Patch::SetRoutingInboxes { inboxes } => {
                self.manifest["routing"]["inboxes"] = inboxes.clone();
            }
            Patch::SetTriggers { triggers } => self.manifest["triggers"] = triggers.clone(),
            Patch::SetModuleBindings { bindings } => {
                self.manifest["module_bindings"] = bindings.clone();
            }
        }
    }

    /// Checks a definition patch's kind and name, that the definition is
    /// not changed by an earlier patch, and (but for `add_def`) that it
    /// exists; returns its name.
    fn def_target(
        &mut self,
        i: usize,
        at: &str,
        op: &str,
        kind: DefKind,
        name: Option<&Json>,
    ) -> Option<String> {
        if kind == DefKind::Manifest {
            let msg = format!("{at}: {op} cannot change the manifest (use the set_* patches)");
            self.reasons.push(msg);
            return None;
        }
        let Some(name) = name.and_then(Json::as_str).filter(|n| is_valid_name(n)) else {
            let msg = format!("{at}: {op} {kind}: the node has no well-formed `name`");
            self.reasons.push(msg);
            return None;
        };
        let key = (kind, name.to_string());
        if let Some(first) = self.touched.get(&key) {
            let msg = format!(
                "{at}: {op} {kind} {name}: patches[{first}] already changes it (one patch per \
                 definition)"
            );
            self.reasons.push(msg);
            return None;
        }
        self.touched.insert(key.clone(), i);
        if op != "add_def" && !self.defs.contains_key(&key) {
            self.reasons
                .push(format!("{at}: {op} {kind} {name}: it is not defined"));
            return None;
        }
        Some(name.to_string())
    }

    fn pre_hash_ok(&mut self, at: &str, op: &str, kind: DefKind, name: &str, pre: &Hash) -> bool {
        let actual = world_hash(self.base, kind, name);
        if actual == Some(*pre) {
            return true;
        }
        let actual = actual.map_or("nothing".to_string(), |h| h.to_string());
        self.reasons.push(format!(
            "{at}: {op} {kind} {name}: pre_hash is {pre}, but the definition hashes to {actual}"
        ));
        false
    }

    /// The node with its `$kind` and `name` set and a module's relative
    /// `source` resolved.
    fn prepared(&mut self, at: &str, kind: DefKind, name: &str, node: &Json) -> Option<Json> {
        let Some(obj) = node.as_object() else {
            let msg = format!(
                "{at}: the {kind} node must be an object, found {}",
                json_kind(node)
            );
            self.reasons.push(msg);
            return None;
        };
        let mut obj = obj.clone();
        match obj.get("$kind") {
            Some(k) if k.as_str() != Some(kind.as_str()) => {
                let msg = format!("{at}: the node's $kind is {k}, but the patch's kind is {kind}");
                self.reasons.push(msg);
                return None;
            }
            Some(_) => {}
            None => {
                obj.insert("$kind".into(), json!(kind.as_str()));
            }
        }
        match obj.get("name").and_then(Json::as_str) {
            Some(n) if n == name => {}
            Some(n) => {
                let msg = format!(
                    "{at}: the new node is named {n}, not {name} (a rename is remove_def and \
                     add_def)"
                );
                self.reasons.push(msg);
                return None;
            }
            None => {
                obj.insert("name".into(), json!(name));
            }
        }
        if kind == DefKind::Module {
            if let Some(src) = obj.get("source").and_then(Json::as_str) {
                let resolved = self.world_dir.join(src);
                obj.insert("source".into(), json!(resolved.to_string_lossy()));
            }
        }
        Some(Json::Object(obj))
    }

    /// The manifest's reference list for `kind`.
    fn ref_list(&mut self, at: &str, kind: DefKind) -> Option<&mut Vec<Json>> {
        if kind == DefKind::Manifest {
            self.reasons
                .push(format!("{at}: the manifest does not list itself"));
            return None;
        }
        self.manifest[list_key(kind)].as_array_mut()
    }
}

/// Carries a base module's built wasm over to its replacement when the
/// replacement names no wasm of its own and builds from the same source.
fn keep_build(node: &mut Json, base: &DefModule) {
    let has_wasm = node
        .get("wasm_hash")
        .and_then(Json::as_str)
        .and_then(Hash::parse)
        .is_some_and(|h| !h.is_zero());
    let source = node.get("source").and_then(Json::as_str).map(PathBuf::from);
    if has_wasm
        || source
            .as_ref()
            .is_some_and(|s| Some(s) != base.source.as_ref())
    {
        return;
    }
    if let Some(w) = base.wasm_hash {
        node["wasm_hash"] = json!(w.to_string());
    }
    if let (None, Some(s)) = (source, &base.source) {
        node["source"] = json!(s.to_string_lossy());
    }
}
