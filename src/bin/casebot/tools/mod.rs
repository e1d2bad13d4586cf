//! The tools that drive casebot from outside, as its users would: the demo and the console
//! (against the Discord sandbox), replay of recorded traffic, the benchmarks and the evaluation.

pub mod bench;
pub mod console;
pub mod demo;
pub mod eval;
pub mod eval_retail;
pub mod replay;
pub mod sandbox_bot;
