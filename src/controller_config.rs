//! The bundle's `ControllerConfig`, as the commands that run or reach the fleet need it
//! (`run`, the daemon, `provision` and the operator controls): present, and naming the
//! region a controller or an operator acts in.
//!
//! The commands word their errors differently (what they need the config for, how they
//! name the regions list), so the wording is an argument; the checks are these, once.

use anyhow::{Result, bail};
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::ControllerSpec;
use std::path::Path;

/// The bundle's `ControllerConfig`, or an error naming `policies`; `needs` is appended to
/// it (e.g. "; provision needs the fleet's regions", or nothing).
pub fn controller_config(bundle: &Bundle, policies: &Path, needs: &str) -> Result<ControllerSpec> {
    let Some(controller) = bundle.controller.clone() else {
        bail!(
            "{}: no ControllerConfig document{needs}",
            policies.display()
        );
    };
    Ok(controller)
}

/// Refuses a `--region` the config does not list; `named` is what the error calls the
/// list (the "ControllerConfig" or "controller" regions).
pub fn check_region(controller: &ControllerSpec, region: &str, named: &str) -> Result<()> {
    if !controller.regions.iter().any(|r| r == region) {
        bail!(
            "--region {region} is not one of the {named} regions ({})",
            controller.regions.join(", ")
        );
    }
    Ok(())
}

/// The config of the fleet `region` belongs to, as the daemon and the operator controls
/// check it.
pub fn fleet_config(bundle: &Bundle, policies: &Path, region: &str) -> Result<ControllerSpec> {
    let controller = controller_config(bundle, policies, "")?;
    check_region(&controller, region, "controller")?;
    Ok(controller)
}
