//! Running a wasi-threads program's threads in one instance: the layout that makes it
//! possible and the check that the program cannot tell the difference.
//!
//! Under the wasi-threads ABI every thread gets an instance of its own, so each thread has
//! its own globals, tables, segment state and start-function effects, and shares only the
//! imported memory and host functions. In one instance, threads share everything the module
//! defines, so [`plan`] changes what must stay per thread and refuses what cannot:
//!
//! - **Mutable globals** the module defines become thread-local: each thread gets its own
//!   copy, starting from the global's initializer, as a new instance's copy would. Global
//!   initializers are constant expressions over immutable globals, so every thread's
//!   starting value is the one the instance computed once. Imported mutable globals must be
//!   shared: they are one global for every instance already.
//! - **The start function** runs once, when the instance is made, where the ABI runs it once
//!   per thread. So it must be a *once-only* start function, whose runs after the first do
//!   nothing a thread could see: wasm-ld's `__wasm_init_memory`, the start function of every
//!   threaded C, C++, Rust or Zig program, begins by swapping a flag in the shared memory
//!   from 0 to 1 with `i32.atomic.rmw.cmpxchg` and initializes (copies the data segments,
//!   sets the main thread's `__tls_base`) only if the flag was 0. A later run finds the flag
//!   set, waits for it to reach 2 and drops the segments it used. The check: the function
//!   begins with that guard, and outside the guarded branch it does nothing but branch,
//!   wait, and drop segments. What the branch does happens in the first instance only, under
//!   either model: a new thread's globals keep their initializers.
//! - **Active data segments** would be written into the shared memory again by every new
//!   instance, over whatever the program has stored there since; one instance writes them
//!   once. They are refused (threaded toolchains emit passive segments only).
//! - **Tables** are shared. An instruction that changes a table (`table.set`, `table.grow`,
//!   `table.fill`, `table.copy`, `table.init`) is refused anywhere: one thread's change
//!   would be every thread's. Active element segments fill each instance's table with the
//!   same functions, so one table filled once is the same.
//! - **Segments** are shared. `data.drop` and `elem.drop` are allowed only in the start
//!   function, which nothing else may call: its drops leave every instance's segments
//!   dropped under the ABI too. Anywhere else one thread's drop would be every thread's.
//!
//! Everything else is the same in both models: the memory and the host functions were
//! shared already, immutable globals read the same everywhere, and function references only
//! name functions, which are the same code in every instance.

use super::module::{ConstExpr, ConstOp, DataKind, EntityIndex, ModuleInfo, WasmError};
use wasmparser::{BinaryReader, FunctionBody, HeapType, Operator, OperatorsReader, ValType};

/// The module name of the import a wasi-threads module spawns with.
pub const THREAD_SPAWN_MODULE: &str = "wasi";
/// The field name of the import a wasi-threads module spawns with.
pub const THREAD_SPAWN_NAME: &str = "thread-spawn";

/// Whether `info`'s module is a wasi-threads program: it imports `wasi::thread-spawn`.
pub(crate) fn spawns_wasi_threads(info: &ModuleInfo) -> bool {
    info.imports
        .iter()
        .any(|import| import.module == THREAD_SPAWN_MODULE && import.name == THREAD_SPAWN_NAME)
}

/// Makes every mutable global `info`'s module defines thread-local and checks the module
/// against the rules above. `bytes` is the module binary `info` was parsed from.
pub(crate) fn plan(info: &mut ModuleInfo, bytes: &[u8]) -> Result<(), WasmError> {
    check_globals(info)?;
    check_data_segments(info)?;
    check_code(info, bytes)?;
    if let Some(start) = info.start {
        check_start(info, bytes, start)?;
    }
    for index in info.num_imported_globals..info.globals.len() as u32 {
        if info.globals[index as usize].mutable && info.thread_local_slot(index).is_none() {
            info.thread_local_slots[index as usize] = Some(info.thread_locals.len() as u32);
            info.thread_locals.push(index);
        }
    }
    info.one_instance_threads = true;
    Ok(())
}

fn refuse<T>(reason: String, offset: u64) -> Result<T, WasmError> {
    Err(WasmError::NotOneInstance { reason, offset })
}

/// A mutable global a thread can copy is a number, a vector or a function reference: other
/// references are objects of the GC heap, whose roots a thread's block does not hold.
fn check_globals(info: &ModuleInfo) -> Result<(), WasmError> {
    for (index, ty) in info.globals.iter().enumerate() {
        if !ty.mutable {
            continue;
        }
        if index < info.num_imported_globals as usize {
            if !ty.shared {
                return refuse(
                    format!(
                        "global {index} is an imported mutable global that is not shared, so \
                         only one thread may use it"
                    ),
                    0,
                );
            }
            continue;
        }
        let copyable = match ty.content_type {
            ValType::Ref(reference) => matches!(
                reference.heap_type(),
                HeapType::Abstract {
                    ty: wasmparser::AbstractHeapType::Func | wasmparser::AbstractHeapType::NoFunc,
                    ..
                }
            ),
            _ => true,
        };
        if !copyable {
            return refuse(
                format!(
                    "global {index} is a mutable global of type {}, which cannot have a copy \
                     per thread",
                    ty.content_type
                ),
                0,
            );
        }
    }
    Ok(())
}

fn check_data_segments(info: &ModuleInfo) -> Result<(), WasmError> {
    match info
        .data
        .iter()
        .position(|segment| matches!(segment.kind, DataKind::Active { .. }))
    {
        Some(index) => refuse(
            format!(
                "data segment {index} is active, so every new instance would write it into \
                 the shared memory again"
            ),
            info.data[index].range.start as u64,
        ),
        None => Ok(()),
    }
}

/// Refuses the first instruction, outside the start function, that changes a table or drops
/// a segment.
fn check_code(info: &ModuleInfo, bytes: &[u8]) -> Result<(), WasmError> {
    for defined in 0..info.function_bodies.len() as u32 {
        let function = info.num_imported_functions + defined;
        let in_start = info.start == Some(function);
        let mut operators = body(info, bytes, function).get_operators_reader()?;
        while !operators.eof() {
            let offset = operators.original_position();
            let operator = operators.read()?;
            let (name, effect) = match (table_change(&operator), segment_drop(&operator)) {
                (Some(name), _) => (name, "change the table every thread shares"),
                (None, Some(name)) if !in_start => (name, "drop the segment for every thread"),
                _ => continue,
            };
            return refuse(
                format!(
                    "{} uses `{name}`, which would {effect}",
                    function_name(info, function)
                ),
                offset,
            );
        }
    }
    Ok(())
}

/// The name of an instruction that changes a table, if `operator` is one.
fn table_change(operator: &Operator<'_>) -> Option<&'static str> {
    Some(match operator {
        Operator::TableSet { .. } => "table.set",
        Operator::TableGrow { .. } => "table.grow",
        Operator::TableFill { .. } => "table.fill",
        Operator::TableCopy { .. } => "table.copy",
        Operator::TableInit { .. } => "table.init",
        _ => return None,
    })
}

fn segment_drop(operator: &Operator<'_>) -> Option<&'static str> {
    match operator {
        Operator::DataDrop { .. } => Some("data.drop"),
        Operator::ElemDrop { .. } => Some("elem.drop"),
        _ => None,
    }
}

/// The start function must be once-only (see the module's docs) and nothing else may call
/// it.
fn check_start(info: &ModuleInfo, bytes: &[u8], start: u32) -> Result<(), WasmError> {
    let not_once_only = |what: String, offset: u64| {
        refuse(
            format!(
                "the start function ({}) {what}; it runs once in one instance but once per \
                 thread under the ABI, so only a once-only start function (wasm-ld's \
                 `__wasm_init_memory`) can run once",
                function_name(info, start)
            ),
            offset,
        )
    };
    if !info.is_defined_function(start) {
        return not_once_only("is imported".to_string(), 0);
    }
    if let Some(caller) = other_use(info, bytes, start)? {
        return not_once_only(format!("is also {caller}"), 0);
    }
    let mut operators = body(info, bytes, start).get_operators_reader()?;
    let guard = read_guard(&mut operators)?;
    if !guard {
        return not_once_only(
            "does not begin with a once-only guard".to_string(),
            operators.original_position(),
        );
    }
    // The guarded branch runs until the `end` of the second block; then only waiting for
    // the flag and dropping segments may follow.
    let mut depth = 0u32;
    let mut in_branch = true;
    while !operators.eof() {
        let offset = operators.original_position();
        let operator = operators.read()?;
        match &operator {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => depth += 1,
            Operator::End if depth == 0 => in_branch = false,
            Operator::End => depth -= 1,
            _ => {}
        }
        if !in_branch && !is_once_only_epilogue(&operator) {
            return not_once_only(
                format!("runs {operator:?} outside its once-only branch"),
                offset,
            );
        }
    }
    Ok(())
}

/// Reads a once-only guard: `block block block`, the flag's swap from 0 to 1, and a
/// `br_table 0 1 2` on the old value, into the first block's `end`:
///
/// ```wat
/// block block block
///   (i32.atomic.rmw.cmpxchg (i32.const FLAG) (i32.const 0) (i32.const 1))
///   br_table 0 1 2   ;; 0: first run, 1: another run is initializing, else: done
/// end
///   ...              ;; the once-only branch, entered only when the flag was 0
/// end
///   ...              ;; waits until the flag is 2
/// end
/// ```
///
/// A later run finds the flag at 1 or 2 (nothing in a program stores 0 back to it), so only
/// the first run of the function enters the branch.
fn read_guard(operators: &mut OperatorsReader<'_>) -> Result<bool, WasmError> {
    let mut prefix = Vec::with_capacity(GUARD_LEN);
    while prefix.len() < GUARD_LEN && !operators.eof() {
        prefix.push(operators.read()?);
    }
    Ok(match prefix.as_slice() {
        [
            Operator::Block { .. },
            Operator::Block { .. },
            Operator::Block { .. },
            Operator::I32Const { .. },
            Operator::I32Const { value: 0 },
            Operator::I32Const { value: 1 },
            Operator::I32AtomicRmwCmpxchg { .. },
            Operator::BrTable { targets },
            Operator::End,
        ] => targets.default() == 2 && targets.targets().collect::<Result<Vec<_>, _>>()? == [0, 1],
        _ => false,
    })
}

/// Operators in a once-only guard.
const GUARD_LEN: usize = 9;

/// What a once-only start function may do outside its guarded branch: wait for the flag
/// (or leave), and drop segments.
fn is_once_only_epilogue(operator: &Operator<'_>) -> bool {
    matches!(
        operator,
        Operator::Block { .. }
            | Operator::End
            | Operator::Br { .. }
            | Operator::Return
            | Operator::Nop
            | Operator::Drop
            | Operator::I32Const { .. }
            | Operator::I64Const { .. }
            | Operator::I32AtomicLoad { .. }
            | Operator::MemoryAtomicWait32 { .. }
            | Operator::DataDrop { .. }
            | Operator::ElemDrop { .. }
    )
}

/// The body of defined function `function`.
fn body<'a>(info: &ModuleInfo, bytes: &'a [u8], function: u32) -> FunctionBody<'a> {
    let range = &info.function_bodies[(function - info.num_imported_functions) as usize];
    FunctionBody::new(BinaryReader::new(&bytes[range.clone()], range.start as u64))
}

/// How else than as the start function `start` may be called, if it may: an export, a
/// reference to it, or a direct call.
fn other_use(info: &ModuleInfo, bytes: &[u8], start: u32) -> Result<Option<String>, WasmError> {
    let names = |expr: &ConstExpr| expr.ops.contains(&ConstOp::RefFunc(start));
    if let Some((name, _)) = info
        .exports
        .iter()
        .find(|(_, entity)| *entity == EntityIndex::Function(start))
    {
        return Ok(Some(format!("exported as `{name}`")));
    }
    let in_elements = info
        .elements
        .iter()
        .any(|segment| segment.items.iter().any(names));
    if in_elements
        || info.global_inits.iter().any(names)
        || info.table_inits.iter().flatten().any(names)
    {
        return Ok(Some("referenced by a constant expression".to_string()));
    }
    for defined in 0..info.function_bodies.len() as u32 {
        let function = info.num_imported_functions + defined;
        let mut operators = body(info, bytes, function).get_operators_reader()?;
        while !operators.eof() {
            match operators.read()? {
                Operator::Call { function_index } | Operator::ReturnCall { function_index }
                    if function_index == start =>
                {
                    return Ok(Some(format!("called by {}", function_name(info, function))));
                }
                Operator::RefFunc { function_index } if function_index == start => {
                    return Ok(Some(format!(
                        "referenced by {}",
                        function_name(info, function)
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(None)
}

/// "function 12 (`__wasm_init_memory`)", or "function 12" without a name section.
fn function_name(info: &ModuleInfo, index: u32) -> String {
    match info.names.functions.get(&index) {
        Some(name) => format!("function {index} (`{name}`)"),
        None => format!("function {index}"),
    }
}
