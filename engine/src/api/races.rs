//! Data races that the detector ([`Config::detect_races`](crate::Config::detect_races))
//! found, as values.

use crate::vm::SitedRace;
use std::fmt;

/// One of two accesses that race.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RacingAccess {
    /// The thread that made it: the detector numbers threads from 0 in the order it meets
    /// them, the program's first thread first.
    pub thread: u32,
    /// The function, as backtraces name it (`module!function`).
    pub function: String,
    /// The byte offset of the instruction in the module's binary.
    pub offset: u32,
    /// Whether it stores rather than loads.
    pub write: bool,
}

impl fmt::Display for RacingAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.write { "write" } else { "read" };
        write!(
            f,
            "{kind} by thread {} at {:#x} in {}",
            self.thread, self.offset, self.function
        )
    }
}

/// Two accesses to one byte of a shared memory, at least one a write, that no
/// synchronization orders: `earlier` happened first and `later` found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataRace {
    /// The byte's native address: equal for accesses to the same byte, meaningless across
    /// runs.
    pub address: u64,
    /// The access the detector saw first.
    pub earlier: RacingAccess,
    /// The access that found the race.
    pub later: RacingAccess,
}

impl fmt::Display for DataRace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "data race: {} against an earlier {}",
            self.later, self.earlier
        )
    }
}

impl DataRace {
    pub(crate) fn from_sited(sited: SitedRace) -> DataRace {
        let access = |access: weft_threads::Access, module: &crate::vm::ModuleRuntime| {
            let (function, offset) = crate::vm::describe_site(module, access.site.1);
            RacingAccess {
                thread: access.thread,
                function,
                offset,
                write: access.write,
            }
        };
        DataRace {
            address: sited.race.address,
            earlier: access(sited.race.earlier, &sited.earlier_module),
            later: access(sited.race.later, &sited.later_module),
        }
    }
}
