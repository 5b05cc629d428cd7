//! `homestream devices`: the command's edge, where errors become messages.

use std::process::ExitCode;

/// Runs `homestream devices`: lists cameras with friendly names and modes, or says there are
/// none. With `json`, prints one JSON document.
pub fn run_devices(json: bool) -> anyhow::Result<ExitCode> {
    let cameras = crate::source::camera::list_cameras()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "cameras": cameras }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if cameras.is_empty() {
        println!("no cameras found (no video capture devices under /dev/video*)");
        return Ok(ExitCode::SUCCESS);
    }
    for (i, c) in cameras.iter().enumerate() {
        println!("camera:{i}  {}  ({})", c.name, c.path);
        for m in &c.modes {
            println!("    {m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
