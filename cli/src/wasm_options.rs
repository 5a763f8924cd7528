//! `-W NAME[=VALUE]`: WebAssembly options, with Wasmtime's spelling. A proposal's name turns
//! it on (`-W threads`, `-W threads=y`) or off (`-W simd=n`); `-W timeout=DURATION` bounds a
//! run in time and `-W fuel=N` in operators. Options may be repeated or given comma-separated
//! (`-W gc=n,timeout=2s`).

use crate::usage::UsageError;
use std::time::Duration;
use weft::WasmFeatures;
use weft_spec_tests::parse_features;

/// The `-W` options of one command line.
#[derive(Clone, Debug)]
pub(crate) struct WasmOptions {
    enable: WasmFeatures,
    disable: WasmFeatures,
    /// How long a run may take before every thread of it is stopped.
    pub timeout: Option<Duration>,
    /// How many operators the program's main thread may run.
    pub fuel: Option<u64>,
}

/// What `-W` accepts, for error messages and `--help`.
pub(crate) const WASM_OPTIONS_HELP: &str = "a proposal in kebab case with an optional =y or =n \
     (threads, shared-everything-threads, simd, gc, reference-types, ...; a set such as wasm2 \
     too), timeout=DURATION (for example 200ms, 2s, 1m) or fuel=N (operators)";

impl Default for WasmOptions {
    /// Nothing turned on or off (`WasmFeatures::default()` is a set of proposals, not none).
    fn default() -> Self {
        WasmOptions {
            enable: WasmFeatures::empty(),
            disable: WasmFeatures::empty(),
            timeout: None,
            fuel: None,
        }
    }
}

impl WasmOptions {
    /// Parses every `-W` value given; `timeout` and `fuel` bound a run, so only when
    /// `run_limits_allowed`.
    pub fn parse(values: &[String], run_limits_allowed: bool) -> Result<WasmOptions, UsageError> {
        let mut options = WasmOptions::default();
        for option in values.iter().flat_map(|value| value.split(',')) {
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (option.trim(), None),
            };
            if name == "timeout" || name == "fuel" {
                if !run_limits_allowed {
                    return Err(UsageError(format!(
                        "-W {option}: only `weft run` takes a {name} limit"
                    )));
                }
                if name == "timeout" {
                    options.timeout = Some(parse_timeout(option, value)?);
                } else {
                    options.fuel = Some(parse_fuel(option, value)?);
                }
                continue;
            }
            let features = parse_features(name)
                .map_err(|_| UsageError(format!("-W {option}: expected {WASM_OPTIONS_HELP}")))?;
            match value {
                None | Some("y" | "yes" | "true") => {
                    options.enable |= features;
                    options.disable -= features;
                }
                Some("n" | "no" | "false") => {
                    options.disable |= features;
                    options.enable -= features;
                }
                Some(_) => {
                    return Err(UsageError(format!(
                        "-W {option}: a proposal is turned on with =y or off with =n"
                    )));
                }
            }
        }
        Ok(options)
    }

    /// `base` with the proposals turned on added and those turned off taken away.
    pub fn features(&self, base: WasmFeatures) -> WasmFeatures {
        (base | self.enable) - self.disable
    }
}

fn parse_fuel(option: &str, value: Option<&str>) -> Result<u64, UsageError> {
    value
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| UsageError(format!("-W {option}: expected a number of operators")))
}

fn parse_timeout(option: &str, value: Option<&str>) -> Result<Duration, UsageError> {
    let value = value.unwrap_or("");
    // A bare number is seconds, as in Wasmtime.
    let parsed = match value.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(value),
    };
    parsed.map_err(|_| {
        UsageError(format!(
            "-W {option}: expected a duration such as 200ms, 2s or 1m"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<WasmOptions, UsageError> {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        WasmOptions::parse(&values, true)
    }

    #[test]
    fn proposals_turn_on_and_off_and_the_last_word_wins() {
        let base = WasmFeatures::default();
        let options = parse(&["shared-everything-threads", "simd=n"]).unwrap();
        let features = options.features(base);
        assert!(features.contains(WasmFeatures::SHARED_EVERYTHING_THREADS));
        assert!(!features.contains(WasmFeatures::SIMD));
        let options = parse(&["threads=n,threads=y"]).unwrap();
        assert!(
            options
                .features(WasmFeatures::empty())
                .contains(WasmFeatures::THREADS)
        );
        assert_eq!(parse(&[]).unwrap().features(base), base);
    }

    #[test]
    fn timeouts_take_units_or_seconds() {
        assert_eq!(
            parse(&["timeout=200ms"]).unwrap().timeout,
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            parse(&["timeout=3"]).unwrap().timeout,
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse(&["gc=n,timeout=1m"]).unwrap().timeout,
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn fuel_is_a_number_of_operators() {
        assert_eq!(parse(&["fuel=1000"]).unwrap().fuel, Some(1000));
        assert_eq!(parse(&[]).unwrap().fuel, None);
    }

    #[test]
    fn bad_options_say_what_is_expected() {
        for bad in [
            "nope",
            "threads=maybe",
            "timeout=soon",
            "timeout",
            "fuel",
            "fuel=-1",
        ] {
            let error = parse(&[bad]).unwrap_err().0;
            assert!(error.starts_with(&format!("-W {bad}:")), "{error}");
        }
        for limit in ["timeout=1s", "fuel=10"] {
            let wast = WasmOptions::parse(&[limit.to_string()], false).unwrap_err();
            assert!(wast.0.contains("only `weft run`"), "{}", wast.0);
        }
    }
}
