//! The service driven in-process, as `herald run` drives it but without signals: it is given
//! its settings, a reload function and a control channel. A new issue is posted once, a
//! reload reads the configuration again, and a stop ends the service with the state lock
//! released.

use std::sync::atomic::AtomicUsize;

use herald::daemon::service::{Control, serve};
use herald::state::StateLock;

use super::*;

/// Waits (on the runtime, so that the service runs meanwhile) until `ok` or `limit`.
async fn until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_service_runs_reloads_and_stops_on_its_controls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config_path = site(dir);
    let config = herald::config::load(&config_path).unwrap();
    let state_path = config.state_path.clone();
    let reloads = AtomicUsize::new(0);
    let reload = || {
        reloads.fetch_add(1, Ordering::SeqCst);
        herald::config::load(&config_path)
    };
    let (controls, control) = tokio::sync::mpsc::unbounded_channel();

    let drive = async {
        until("feeds written", Duration::from_secs(20), || dir.join("out/atom.xml").exists()).await;
        publish_710(dir);
        until("issue 710 posted", Duration::from_secs(20), || posts(dir, "710") == 2).await;
        controls.send(Control::Reload).unwrap();
        until("configuration reloaded", Duration::from_secs(10), || {
            reloads.load(Ordering::SeqCst) == 1
        })
        .await;
        controls.send(Control::Stop).unwrap();
    };
    let (served, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(serve(config, reload, false, control), drive)
    })
    .await
    .expect("the service stops when told to");
    served.unwrap();

    assert_eq!(posts(dir, "710"), 2, "once per account");
    assert!(StateLock::acquire(&state_path).is_ok(), "the state lock is released on stop");
}

#[tokio::test]
async fn a_closed_control_channel_stops_the_service() {
    let tmp = tempfile::tempdir().unwrap();
    let config = herald::config::load(&site(tmp.path())).unwrap();
    let (controls, control) = tokio::sync::mpsc::unbounded_channel::<Control>();
    drop(controls);
    let served = tokio::time::timeout(
        Duration::from_secs(30),
        serve(config, || anyhow::bail!("not reloaded"), false, control),
    )
    .await
    .expect("stopped");
    served.unwrap();
    assert!(tmp.path().join("out/atom.xml").exists(), "the cycle in flight finished first");
}
