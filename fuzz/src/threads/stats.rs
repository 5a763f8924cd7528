//! What the cases covered, for the report at the end of a campaign.

use super::case::{Case, Family};
use super::run::{Host, Mode, Observation, Scheduling};
use super::wat::{Flavor, NOTIFIED, WAITS_NOT_EQUAL, WAITS_TIMED_OUT, WAITS_WOKEN};
use std::collections::BTreeMap;

/// Counts over every case run so far.
#[derive(Default)]
pub struct Stats {
    /// Programs by family and flavor.
    programs: BTreeMap<(&'static str, &'static str), u64>,
    /// Litmus programs by shape.
    shapes: BTreeMap<&'static str, u64>,
    /// Race-free steps by kind: accumulate, compute, produce, consume, locked.
    steps: [u64; 5],
    /// Runs by host: free, under a schedule.
    runs: BTreeMap<&'static str, (u64, u64)>,
    threads_spawned: u64,
    atomic_operations: u64,
    waits_woken: u64,
    waits_not_equal: u64,
    waits_timed_out: u64,
    notified: u64,
    schedule_steps: u64,
    schedule_decisions: u64,
    litmus_observed: u64,
    litmus_allowed: u64,
    litmus_fully_covered: u64,
    litmus_programs: u64,
}

impl Stats {
    /// Counts a case's program.
    pub fn program(&mut self, case: &Case) {
        *self
            .programs
            .entry((case.family.name(), case.flavor.name()))
            .or_default() += 1;
        match &case.family {
            Family::Litmus(litmus) => *self.shapes.entry(litmus.shape).or_default() += 1,
            Family::RaceFree(program) => {
                for (total, count) in self.steps.iter_mut().zip(program.step_kinds()) {
                    *total += count;
                }
            }
        }
    }

    /// Counts one run of `case` in `mode`, which executed `atomic_operations` at least.
    pub fn run(
        &mut self,
        case: &Case,
        mode: Mode,
        observation: &Observation,
        atomic_operations: u64,
    ) {
        let runs = self.runs.entry(mode.host.name()).or_default();
        match mode.scheduling {
            Scheduling::Free => runs.0 += 1,
            Scheduling::Explored(_) => runs.1 += 1,
        }
        self.threads_spawned += case.threads().saturating_sub(1) as u64;
        self.atomic_operations += atomic_operations;
        let word = |address: u32| observation.word(address).map_or(0, u64::from);
        self.waits_woken += word(WAITS_WOKEN);
        self.waits_not_equal += word(WAITS_NOT_EQUAL);
        self.waits_timed_out += word(WAITS_TIMED_OUT);
        self.notified += word(NOTIFIED);
        if let Some(report) = &observation.schedule {
            self.schedule_steps += report.steps;
            self.schedule_decisions += report.decisions;
        }
    }

    /// Counts the distinct outcomes a litmus program's runs showed, of those allowed.
    pub fn litmus_coverage(&mut self, observed: usize, allowed: usize) {
        self.litmus_programs += 1;
        self.litmus_observed += observed as u64;
        self.litmus_allowed += allowed as u64;
        if observed == allowed {
            self.litmus_fully_covered += 1;
        }
    }

    /// The report's lines.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for family in ["litmus", "race-free"] {
            let by_flavor: Vec<String> = [Flavor::Guest, Flavor::Wasi]
                .iter()
                .map(|flavor| {
                    let count = self
                        .programs
                        .get(&(family, flavor.name()))
                        .copied()
                        .unwrap_or(0);
                    format!("{count} {}", flavor.name())
                })
                .collect();
            lines.push(format!("{family} programs: {}", by_flavor.join(", ")));
        }
        if !self.shapes.is_empty() {
            let shapes: Vec<String> = self
                .shapes
                .iter()
                .map(|(shape, count)| format!("{shape} {count}"))
                .collect();
            lines.push(format!("litmus shapes: {}", shapes.join(", ")));
        }
        let [accumulate, compute, produce, consume, locked] = self.steps;
        lines.push(format!(
            "race-free steps: {accumulate} atomic accumulations, {compute} private computations, \
             {produce} publications, {consume} consumptions, {locked} locked sections"
        ));
        let hosts = [
            Host::Guest,
            Host::Wasi(weft::WasiThreadsModel::InstancePerThread),
            Host::Wasi(weft::WasiThreadsModel::OneInstance),
        ];
        for host in hosts {
            let (free, explored) = self.runs.get(host.name()).copied().unwrap_or_default();
            lines.push(format!(
                "runs as {}: {free} free, {explored} under schedules",
                host.name()
            ));
        }
        lines.push(format!(
            "threads spawned: {}; atomic operations executed: at least {}",
            self.threads_spawned, self.atomic_operations
        ));
        lines.push(format!(
            "waits: {} woken by a notify, {} found the value changed, {} timed out; notifies \
             woke {}",
            self.waits_woken, self.waits_not_equal, self.waits_timed_out, self.notified
        ));
        lines.push(format!(
            "schedules: {} steps, {} decisions",
            self.schedule_steps, self.schedule_decisions
        ));
        lines.push(format!(
            "litmus outcomes: {} distinct observed of {} allowed, over {} programs ({} with \
             every allowed outcome seen)",
            self.litmus_observed,
            self.litmus_allowed,
            self.litmus_programs,
            self.litmus_fully_covered
        ));
        lines
    }
}
