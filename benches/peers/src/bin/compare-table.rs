//! `compare-table DIR [--clk-tck HZ]`: prints the table of one
//! `benches/compare.sh` run from the records it left in DIR (see the
//! `table` module for the files and how the ratios are made).

use std::path::Path;
use std::process::ExitCode;

use reactor_bench_peers::args::Args;
use reactor_bench_peers::table;

fn main() -> ExitCode {
    match run() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}\nusage: compare-table DIR [--clk-tck HZ]");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let args = Args::parse(std::env::args().skip(1), &["clk-tck"], &[])?;
    let [dir] = args.positional.as_slice() else {
        return Err("one results directory is needed".into());
    };
    // /proc/PID/stat counts CPU time in clock ticks, 100 per second on
    // every Linux this runs on; the script passes `getconf CLK_TCK`.
    let clk_tck: f64 = args.get("clk-tck", 100.0)?;
    let run = table::load(Path::new(dir), clk_tck)?;
    if run.profiles.is_empty() && run.idle.is_empty() {
        return Err(format!("{dir}: no profile was run"));
    }
    Ok(table::render(&run.profiles, &run.records, &run.idle))
}
