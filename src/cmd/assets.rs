//! `herald generate-assets DIR` (hidden): the man page and the shell completions, generated
//! from the command-line definitions so they never drift from `--help`. The Debian package
//! ships them (see `.ci/package`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;

/// Writes `herald.1`, a page per command (`herald-run.1` …, which `herald.1` refers to) and
/// the bash, zsh and fish completions into `dir`.
pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = Cli::command();
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    write(&dir.join("herald.1"), &page)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        // clap names commands with `&'static str`; this runs once, at packaging.
        let name: &'static str = Box::leak(format!("herald-{}", sub.get_name()).into_boxed_str());
        let mut page = Vec::new();
        let usage = format!("herald {}", sub.get_name());
        clap_mangen::Man::new(sub.clone().name(name).bin_name(usage)).render(&mut page)?;
        write(&dir.join(format!("{name}.1")), &page)?;
    }
    for (shell, name) in [
        (clap_complete::Shell::Bash, "herald.bash"),
        (clap_complete::Shell::Zsh, "_herald"),
        (clap_complete::Shell::Fish, "herald.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, "herald", &mut script);
        write(&dir.join(name), &script)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::feeds::write::write_if_changed(path, bytes)
        .map(drop)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_man_page_and_completions_name_every_command() {
        let dir = tempfile::tempdir().unwrap();
        super::run(dir.path()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("herald.1")).unwrap();
        let bash = std::fs::read_to_string(dir.path().join("herald.bash")).unwrap();
        for command in ["run", "announce", "status", "check", "preview", "feeds", "systemd-dropin"]
        {
            // roff escapes the hyphens.
            assert!(page.contains(&command.replace('-', "\\-")), "man page: {command}");
            assert!(bash.contains(command), "bash: {command}");
        }
        assert!(!page.contains("generate-assets"), "hidden");
        // Every page herald.1 refers to is there, with its command's options.
        for command in ["run", "announce", "status", "check", "preview", "feeds", "systemd-dropin"]
        {
            let name = format!("herald-{command}");
            assert!(page.contains(&format!("{}(1)", name.replace('-', "\\-"))), "{name}(1)");
            let sub = std::fs::read_to_string(dir.path().join(format!("{name}.1"))).unwrap();
            assert!(sub.contains(&format!(".TH {name} 1")), "{sub}");
        }
        let dropin = std::fs::read_to_string(dir.path().join("herald-systemd-dropin.1")).unwrap();
        assert!(dropin.contains("\\-\\-install"), "{dropin}");
        assert!(!dir.path().join("herald-generate-assets.1").exists());
        assert!(dir.path().join("_herald").exists() && dir.path().join("herald.fish").exists());
    }
}
