//! Where a trap happened: the wasm frames it passed through, named from the module's `name`
//! section, with the byte offset of each frame's instruction in the module's binary.

use crate::environ::write_function_label;
use crate::vm::FrameSymbol;
use std::fmt;

/// The wasm frames a trap passed through, innermost first: the trapping function, then its
/// callers, up to the host's call into wasm (at most 32 machine frames; a function inlined
/// into another still has a frame of its own here). Empty when weft cannot tell: for a
/// trap raised by host code (a failed host function, an interrupted wait) rather than by a
/// fault in compiled code, and for a guest thread's trap reported to another thread.
///
/// Its `Display` prints one line per frame, as in
/// `   0: 0x2a - mymodule!store_past_the_end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

/// One frame of a [`WasmBacktrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    module_name: Option<String>,
    func_index: u32,
    func_name: Option<String>,
    module_offset: Option<u32>,
}

impl WasmBacktrace {
    pub(crate) fn new(symbols: Vec<FrameSymbol>) -> WasmBacktrace {
        let frames = symbols.into_iter().map(FrameInfo::from).collect();
        WasmBacktrace { frames }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl FrameInfo {
    /// The module's name, from its `name` section.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// The function's index in its module, imports included.
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name, from the module's `name` section.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The byte offset, in the module's binary, of the instruction the frame was at: the one
    /// that trapped, or a call.
    pub fn module_offset(&self) -> Option<u32> {
        self.module_offset
    }
}

impl From<FrameSymbol> for FrameInfo {
    fn from(symbol: FrameSymbol) -> FrameInfo {
        FrameInfo {
            module_name: symbol.module_name,
            func_index: symbol.func_index,
            func_name: symbol.func_name,
            module_offset: symbol.wasm_offset,
        }
    }
}

impl fmt::Display for FrameInfo {
    /// `module!function`, each part a name when the module has one, else the function's
    /// index (`<wasm function 3>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_function_label(
            f,
            self.module_name.as_deref(),
            self.func_name.as_deref(),
            self.func_index,
        )
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (depth, frame) in self.frames.iter().enumerate() {
            match frame.module_offset {
                Some(offset) => writeln!(f, "{depth:>4}: {offset:#x} - {frame}")?,
                None => writeln!(f, "{depth:>4}: {frame}")?,
            }
        }
        Ok(())
    }
}
