//! The patch that turns one AIR into another (a proposal made from a
//! directory of edited AIR files).

use super::*;

/// The patch that turns `base` into `proposal` (typically a whole
/// alternative AIR folder): per definition an add, replace or remove, then
/// the manifest sections that differ. A module that differs only by being
/// unbuilt in the proposal is left alone (it keeps its build). Applied to
/// `base`, it yields an AIR whose manifest hash is `proposal`'s whenever the
/// proposal's modules are built alike.
pub fn patch_from_dirs(base: &Air, proposal: &Air) -> PatchDoc {
    let mut patches = Vec::new();
    for kind in DEF_KINDS {
        let all: BTreeSet<&String> = names(base, kind)
            .into_iter()
            .chain(names(proposal, kind))
            .collect();
        for name in all {
            let (old, new) = (
                world_hash(base, kind, name),
                world_hash(proposal, kind, name),
            );
            let node = || node_json(proposal, kind, name, Form::Source).unwrap_or(Json::Null);
            match (old, new) {
                (Some(pre_hash), None) => patches.push(Patch::RemoveDef {
                    kind,
                    name: name.clone(),
                    pre_hash,
                }),
                (None, Some(_)) => patches.push(Patch::AddDef { kind, node: node() }),
                (Some(pre_hash), Some(h)) if pre_hash != h => {
                    let unbuilt = kind == DefKind::Module
                        && matches!(
                            (base.modules.get(name), proposal.modules.get(name)),
                            (Some(b), Some(p)) if same_but_build(b, p)
                        );
                    if !unbuilt {
                        patches.push(Patch::ReplaceDef {
                            kind,
                            name: name.clone(),
                            new_node: node(),
                            pre_hash,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some(b), Some(p)) = (&base.manifest, &proposal.manifest) {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        for kind in DEF_KINDS {
            let list = |m: &crate::air::Manifest| -> BTreeSet<String> {
                let names = match kind {
                    DefKind::Schema => &m.schemas,
                    DefKind::Module => &m.modules,
                    DefKind::Plan => &m.plans,
                    DefKind::Cap => &m.caps,
                    _ => &m.policies,
                };
                names.iter().cloned().collect()
            };
            let (old, new) = (list(b), list(p));
            add.extend(new.difference(&old).map(|name| ManifestRef {
                kind,
                name: name.clone(),
                hash: None,
            }));
            remove.extend(old.difference(&new).map(|name| (kind, name.clone())));
        }
        if !add.is_empty() || !remove.is_empty() {
            patches.push(Patch::SetManifestRefs { add, remove });
        }
        let grants = |g: &[CapGrant]| -> Vec<CapGrant> {
            let unplaced = |g: &CapGrant| CapGrant {
                json_path: String::new(),
                ..g.clone()
            };
            g.iter().map(unplaced).collect()
        };
        let policy = (b.defaults.policy != p.defaults.policy).then(|| p.defaults.policy.clone());
        let cap_grants = (grants(&b.defaults.cap_grants) != grants(&p.defaults.cap_grants))
            .then(|| grants_json(proposal));
        if policy.is_some() || cap_grants.is_some() {
            patches.push(Patch::SetDefaults { policy, cap_grants });
        }
        if b.routing != p.routing {
            patches.push(Patch::SetRoutingEvents {
                events: routing_json(proposal),
            });
        }
        if b.inboxes != p.inboxes {
            patches.push(Patch::SetRoutingInboxes {
                inboxes: Json::Array(p.inboxes.clone()),
            });
        }
        if b.triggers != p.triggers {
            patches.push(Patch::SetTriggers {
                triggers: triggers_json(proposal),
            });
        }
        if b.module_bindings != p.module_bindings {
            patches.push(Patch::SetModuleBindings {
                bindings: bindings_json(proposal),
            });
        }
    }
    PatchDoc {
        base_manifest_hash: base.manifest_hash().unwrap_or(Hash::ZERO),
        patches,
    }
}

/// Whether two modules differ only in what building gives (`wasm_hash`,
/// absent in an unbuilt proposal) and where they are built from.
fn same_but_build(base: &DefModule, proposal: &DefModule) -> bool {
    if proposal
        .wasm_hash
        .is_some_and(|w| Some(w) != base.wasm_hash)
    {
        return false;
    }
    let unbuilt = |m: &DefModule| {
        canon::module_hash(&DefModule {
            wasm_hash: None,
            ..m.clone()
        })
    };
    unbuilt(base) == unbuilt(proposal)
}
