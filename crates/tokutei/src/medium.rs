//! What kind of medium a file is about to be written to, from read-only facts of the operating
//! system, for `tokutei exports download`: the device of the file's directory (its `st_dev`)
//! looked up in Linux's sysfs (`/sys/dev/block/MAJ:MIN`, the whole disk's `removable` flag and
//! the bus it hangs from). Only facts are gathered here; whether the medium may be written to
//! is the application's rule (`tokutei_app::exports::media`).
//!
//! A device reached over USB is `usb`, an optical drive (`sr*`) `optical`, an MMC/SD card
//! (`mmcblk*`) `sd_card`, any other device flagged removable `other`; a fixed disk — and any
//! file whose device cannot be determined (not Linux, no sysfs, a file system without a block
//! device such as tmpfs or a network share) — is the host's fixed disk, `local`.

use std::path::{Path, PathBuf};

use tokutei_app::exports::Medium;

/// The medium `file` (not yet created) would be written to.
pub fn detect(file: &Path) -> Medium {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match device_of(&dir) {
        Some((major, minor)) => classify(Path::new("/sys"), major, minor),
        None => Medium::Local,
    }
}

#[cfg(unix)]
fn device_of(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    Some(split_dev(dev))
}

#[cfg(not(unix))]
fn device_of(_dir: &Path) -> Option<(u64, u64)> {
    None
}

/// Linux's `dev_t` as its major and minor numbers (glibc's `gnu_dev_major`/`gnu_dev_minor`).
fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000);
    let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
    (major, minor)
}

/// The medium of block device `major:minor` as the sysfs under `sys` describes it.
fn classify(sys: &Path, major: u64, minor: u64) -> Medium {
    let Ok(device) = std::fs::canonicalize(sys.join(format!("dev/block/{major}:{minor}"))) else {
        return Medium::Local;
    };
    // A partition's flags are its whole disk's: the disk is the partition's parent directory.
    let disk = if device.join("partition").exists() { device.parent().map(Path::to_path_buf) } else { Some(device) };
    let Some(disk) = disk else { return Medium::Local };
    let name = disk.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let removable = std::fs::read_to_string(disk.join("removable")).is_ok_and(|t| t.trim() == "1");
    let over_usb = disk.components().any(|c| c.as_os_str().to_str().is_some_and(|s| s.starts_with("usb")));
    if over_usb {
        Medium::Usb
    } else if name.starts_with("sr") {
        Medium::Optical
    } else if name.starts_with("mmcblk") {
        Medium::SdCard
    } else if removable {
        Medium::Other
    } else {
        Medium::Local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_t_splits_into_major_and_minor() {
        let check = |dev: u64, expected: (u64, u64)| assert_eq!(split_dev(dev), expected, "{dev:#x}");
        check(0x0801, (8, 1));
        check(0x0b00, (11, 0));
        check(0xb301, (179, 1));
        check(0x0010_0803, (8, 259));
        check(0x0001_0300, (0x103, 0));
        check(0x0000_1000_0000_0000, (0x1000, 0));
    }

    /// A sysfs of links and flags, as Linux lays it out, under a temporary directory.
    fn sysfs(devices: &[(&str, &str, Option<&str>)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("dev/block")).unwrap();
        for (dev, path, removable) in devices {
            let target = root.path().join(path);
            std::fs::create_dir_all(&target).unwrap();
            if let Some(flag) = removable {
                std::fs::write(target.join("removable"), flag).unwrap();
            } else {
                std::fs::write(target.join("partition"), "1").unwrap();
            }
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, root.path().join("dev/block").join(dev)).unwrap();
        }
        root
    }

    #[cfg(unix)]
    #[test]
    fn the_medium_comes_from_the_disk_the_directory_is_on() {
        let sys = sysfs(&[
            ("8:0", "devices/pci0000:00/ata1/host0/block/sda", Some("0\n")),
            ("8:1", "devices/pci0000:00/ata1/host0/block/sda/sda1", None),
            ("8:16", "devices/pci0000:00/usb2/2-1/host6/block/sdb", Some("1\n")),
            ("8:17", "devices/pci0000:00/usb2/2-1/host6/block/sdb/sdb1", None),
            ("11:0", "devices/pci0000:00/ata2/host1/block/sr0", Some("1\n")),
            ("179:0", "devices/platform/mmc0/block/mmcblk0", Some("0\n")),
            ("179:1", "devices/platform/mmc0/block/mmcblk0/mmcblk0p1", None),
            ("9:0", "devices/virtual/block/fw0", Some("1\n")),
        ]);
        let check = |(major, minor): (u64, u64), expected: Medium| {
            assert_eq!(classify(sys.path(), major, minor), expected, "{major}:{minor}");
        };
        check((8, 0), Medium::Local);
        check((8, 1), Medium::Local);
        check((8, 16), Medium::Usb);
        check((8, 17), Medium::Usb);
        check((11, 0), Medium::Optical);
        check((179, 1), Medium::SdCard);
        check((9, 0), Medium::Other);
        // No block device (tmpfs, a network share): the host's fixed disk.
        check((0, 42), Medium::Local);
    }
}
