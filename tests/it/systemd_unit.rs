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
    std::fs::write(&path, text.replace("/usr/bin/herald", env!("CARGO_BIN_EXE_herald"))).unwrap();
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
        // Issue #13: the package's user (sysusers.d), whose group operators join.
        "User=herald",
        "Group=herald",
        "StateDirectoryMode=2770",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
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
    // Issue #13: nothing that depends on the configuration (it comes from the drop-in), so a
    // Bluesky-only site does not fail on a missing Mastodon credential, nor a missing web root
    // on the namespace.
    for absent in ["LoadCredential=", "ReadWritePaths=", "DynamicUser="] {
        assert!(!unit.lines().any(|l| l.starts_with(absent)), "{absent} in the unit");
    }
}

/// The archive's pull timer and its service verify too.
#[test]
fn the_archive_pull_units_verify() {
    let dir = tempfile::tempdir().unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    for name in ["herald-archive.service", "herald-archive.timer"] {
        std::fs::copy(format!("{config}/{name}"), dir.path().join(name)).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("herald-archive.timer"))
        .arg(dir.path().join("herald-archive.service"))
        .output()
        .unwrap();
    let printed =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // git may be missing on a build machine; anything else is a mistake in the units.
    let real: Vec<&str> =
        printed.lines().filter(|l| !l.contains("/usr/bin/git") && !l.trim().is_empty()).collect();
    assert!(real.is_empty(), "{printed}");
}
