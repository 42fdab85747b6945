//! Runs `Cmd`s: opening a world on a background thread that posts its
//! progress and result as `Msg`s.

use crate::app::Msg;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread;

/// Opens `path` off the UI thread; the receiver gets `OpenProgress`
/// messages and finally exactly one `Opened`.
pub fn spawn_open(path: PathBuf, tx: Sender<Msg>) {
    let spawned = thread::Builder::new()
        .name("aos-open".into())
        .spawn({
            let tx = tx.clone();
            move || {
                let result = open_world(&path, &tx);
                // The UI may have quit meanwhile; nobody to tell then.
                let _ = tx.send(Msg::Opened(result));
            }
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Opened(Err(format!("cannot start the open thread: {e}"))));
    }
}

fn open_world(path: &Path, _tx: &Sender<Msg>) -> Result<Box<dyn crate::session::Session>, String> {
    Err(format!(
        "{}: this build of aos has no world runtime yet",
        path.display()
    ))
}
