//! The systemd unit in config/: `systemd-analyze verify` accepts it without a warning, and it
//! has what operators rely on.

use std::process::Command;

fn unit() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/herald.service")).unwrap()
}

/// Verifies `text` as a unit file; returns (success, everything it printed).
fn verify(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.service");
    // The unit names the installed binary; check it against the one just built.
    std::fs::write(&path, text.replace("/usr/local/bin/herald", env!("CARGO_BIN_EXE_herald")))
        .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (package systemd; .ci/run installs it)");
    let printed =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), printed)
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    let (ok, printed) = verify(&unit());
    assert!(ok && printed.trim().is_empty(), "{printed}");
    // A mistake is caught (so the check above means something).
    let (_, printed) = verify(&unit().replace("Type=notify", "Type=notfy"));
    assert!(printed.contains("notfy"), "{printed}");
}

#[test]
fn the_unit_has_what_operators_rely_on() {
    let unit = unit();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=herald",
        "DynamicUser=yes",
        "LoadCredential=bluesky-password:",
        "LoadCredential=mastodon-token:",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "ExecReload=/bin/kill -HUP $MAINPID",
        // Issue #11: enough descriptors, and no restart into a new state after the database
        // was deleted or replaced under the service.
        "LimitNOFILE=",
        "RestartPreventExitStatus=78",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "missing {line}");
    }
}
