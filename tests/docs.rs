//! The documentation may point only at what this repository contains.
//!
//! A reader who clones the repository gets README.md, `docs/` (and
//! `examples/` and `benches/` where they hold Markdown). Every pointer in
//! those files must lead somewhere in that clone:
//!
//! 1. a relative Markdown link must name a file or directory that exists,
//!    inside the repository, and a `#fragment` into a Markdown file must
//!    name one of its headings;
//! 2. a path written in the text or in backticks, starting with `src/`,
//!    `tests/`, `examples/` or `benches/`, must exist (code is renamed more
//!    often than prose is reread; this is what catches the prose);
//! 3. nothing may point at files outside the repository or cite a
//!    document it does not contain: the rule itself is written down, or
//!    `docs/reference.md` is linked.
//!
//! Every problem is reported as `file:line: what is wrong`, all at once.

use std::collections::HashSet;
use std::fmt;
use std::path::{Component, Path, PathBuf};

/// One thing wrong on one line of one file.
#[derive(Debug)]
struct Problem {
    /// The file, relative to the repository root.
    file: String,
    /// 1-based line number.
    line: usize,
    /// What is wrong, and what to do about it.
    what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Folders whose Markdown files are checked, besides README.md.
const DOC_DIRS: [&str; 3] = ["docs", "examples", "benches"];

/// Prefixes of the repository paths that prose may name.
const PATH_PREFIXES: [&str; 4] = ["src/", "tests/", "examples/", "benches/"];

/// What may not appear, and why. Assembled from pieces so that a search of
/// the repository for these words finds the files that need fixing, not
/// this list. The last one is matched as a whole word only.
fn forbidden() -> [(String, &'static str); 3] {
    [
        (
            ["..", "/shared"].concat(),
            "points at files outside the repository",
        ),
        (
            ["shared", "/bench"].concat(),
            "points at benchmark scripts outside the repository",
        ),
        (
            ["SP", "EC"].concat(),
            "cites a document the repository does not contain",
        ),
    ]
}

/// README.md and every `.md` under [`DOC_DIRS`], repository-relative with
/// `/` separators, sorted.
fn markdown_files(root: &Path) -> Vec<String> {
    let mut found = vec!["README.md".to_string()];
    let mut stack: Vec<PathBuf> = DOC_DIRS.iter().map(|dir| root.join(dir)).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // examples/ or benches/ may not exist
        };
        for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                if let Ok(rel) = path.strip_prefix(root) {
                    found.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    found.sort();
    found
}

/// Every problem in `text`, the contents of the repository file `file`.
fn check(root: &Path, file: &str, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut in_fence = false;
    for (index, line) in text.lines().enumerate() {
        let mut report = |what: String| {
            problems.push(Problem {
                file: file.to_string(),
                line: index + 1,
                what,
            })
        };
        for (word, why) in forbidden() {
            if contains_word(line, &word, word.chars().all(char::is_alphanumeric)) {
                report(format!(
                    "mentions `{word}`, which {why}; say the rule itself or link docs/reference.md"
                ));
            }
        }
        for path in repository_paths(line) {
            if !root.join(&path).exists() {
                report(format!("names `{path}`, which does not exist"));
            }
        }
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue; // links in code are not links; paths in code were checked above
        }
        for target in link_targets(line) {
            if let Err(what) = check_link(root, file, text, &target) {
                report(what);
            }
        }
    }
    problems
}

/// Whether `line` opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("```") || trimmed.starts_with("~~~")
}

/// Whether `word` occurs in `line`; with `whole`, only where neither
/// neighbour is a letter, digit or `_`.
fn contains_word(line: &str, word: &str, whole: bool) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        !whole
            || (!line[..at].chars().next_back().is_some_and(is_word_char)
                && !line[at + word.len()..]
                    .chars()
                    .next()
                    .is_some_and(is_word_char))
    })
}

/// Characters a repository path is made of.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Paths like `src/proto/echo.rs` named anywhere in `line`: a prefix from
/// [`PATH_PREFIXES`] that starts a word, and the path characters after it.
/// A path inside a longer one (`../src/x.rs`, a URL) is a link's business.
fn repository_paths(line: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for prefix in PATH_PREFIXES {
        for (at, _) in line.match_indices(prefix) {
            if line[..at].chars().next_back().is_some_and(is_path_char) {
                continue;
            }
            let rest = &line[at..];
            let end = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
            paths.push(rest[..end].trim_end_matches('.').to_string());
        }
    }
    paths
}

/// `line` with the contents of inline code spans blanked out.
fn without_code_spans(line: &str) -> String {
    let mut in_code = false;
    line.chars()
        .map(|c| {
            if c == '`' {
                in_code = !in_code;
                ' '
            } else if in_code {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The targets of the inline links and images in `line` (`[text](target)`,
/// whose text may have begun on an earlier line) and of a reference
/// definition (`[name]: target`).
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    for (at, _) in line.match_indices("](") {
        let rest = &line[at + 2..];
        let Some(end) = rest.find(')') else { continue };
        targets.push(rest[..end].to_string());
    }
    let trimmed = line.trim_start();
    if let (Some(body), true) = (trimmed.strip_prefix('['), trimmed.contains("]: ")) {
        if let Some((_, target)) = body.split_once("]: ") {
            targets.push(target.to_string());
        }
    }
    targets
        .into_iter()
        .map(|target| {
            let target = target.trim().trim_start_matches('<');
            let end = target.find([' ', '>']).unwrap_or(target.len());
            target[..end].to_string()
        })
        .filter(|target| !target.is_empty() && !target.contains("://"))
        .filter(|target| !target.starts_with("mailto:"))
        .collect()
}

/// Checks one relative link `target` found in `file` (whose text is `text`).
fn check_link(root: &Path, file: &str, text: &str, target: &str) -> Result<(), String> {
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let resolved = if path.is_empty() {
        PathBuf::from(file)
    } else {
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        normalize(&dir.join(path))
            .ok_or_else(|| format!("links to `{target}`, outside the repository"))?
    };
    let on_disk = root.join(&resolved);
    if !path.is_empty() && !on_disk.exists() {
        return Err(format!(
            "links to `{target}`, but `{}` does not exist",
            resolved.display()
        ));
    }
    if fragment.is_empty() || resolved.extension().is_none_or(|ext| ext != "md") {
        return Ok(());
    }
    let target_text = if path.is_empty() {
        text.to_string()
    } else {
        std::fs::read_to_string(&on_disk).map_err(|e| format!("cannot read `{target}`: {e}"))?
    };
    if anchors(&target_text).contains(fragment) {
        Ok(())
    } else {
        Err(format!(
            "links to `{target}`, but `{}` has no heading with the anchor `#{fragment}`",
            resolved.display()
        ))
    }
}

/// `path` with `.` and `..` resolved, or `None` if it climbs out of the
/// repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// The anchors a Markdown renderer gives the headings of `text`, the way
/// GitHub makes them: lower case, punctuation dropped, spaces to `-`, and
/// `-1`, `-2`... on repeats. Explicit `<a id="...">` anchors count too.
fn anchors(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for (at, _) in line.match_indices("id=\"") {
            let rest = &line[at + 4..];
            if let Some(end) = rest.find('"') {
                found.insert(rest[..end].to_string());
            }
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        let Some(title) = line[hashes..].strip_prefix(' ') else {
            continue;
        };
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let slug: String = title
            .trim()
            .trim_end_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut candidate = slug.clone();
        let mut repeat = 0;
        while found.contains(&candidate) {
            repeat += 1;
            candidate = format!("{slug}-{repeat}");
        }
        found.insert(candidate);
    }
    found
}

#[test]
fn the_documentation_points_only_at_what_the_repository_contains() {
    let root = root();
    let files = markdown_files(&root);
    // The walk itself must work, or this test would pass by checking nothing.
    for expected in ["README.md", "docs/reference.md"] {
        assert!(
            files.iter().any(|file| file == expected),
            "{expected} not found among {files:?}"
        );
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
        problems.extend(check(&root, file, &text));
    }
    let report: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(
        report.is_empty(),
        "{} problem(s) in the documentation:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn each_kind_of_problem_is_caught_and_named_by_line() {
    let text = [
        "# A page",                                                       // 1
        "See [the loop](../src/lib.rs) and `src/lib.rs`.",                // 2: fine
        "A [missing page](nope.md).",                                     // 3
        "An [escape](../../../etc/passwd).",                              // 4
        "The file `src/no_such_file.rs` and tests/gone.rs.",              // 5, twice
        &format!("As {} section 4 says.", ["SP", "EC"].concat()),         // 6
        &format!("Run {}/run.sh.", ["..", "/shared", "/bench"].concat()), // 7, twice
        "A [bad anchor](#no-such-heading) and a [good one](#a-page).",    // 8
        "A [bad anchor elsewhere](reference.md#nowhere).",                // 9
        "```",                                                            // 10
        "[not a link](in-a-code-block.md) but src/missing/in_code.rs",    // 11
        "```",                                                            // 12
        "Web links are not checked: [mio](https://docs.rs/mio).",         // 13
        "SPECIAL and INSPECT are other words.",                           // 14
    ]
    .join("\n");
    let problems = check(&root(), "docs/synthetic.md", &text);
    let lines: Vec<usize> = problems.iter().map(|problem| problem.line).collect();
    assert_eq!(
        lines,
        [3, 4, 5, 5, 6, 7, 7, 8, 9, 11],
        "problems found: {problems:#?}"
    );
    let named = |line: usize, needle: &str| {
        problems
            .iter()
            .any(|problem| problem.line == line && problem.what.contains(needle))
    };
    assert!(named(3, "docs/nope.md"));
    assert!(named(4, "outside the repository"));
    assert!(named(5, "src/no_such_file.rs") && named(5, "tests/gone.rs"));
    assert!(named(8, "#no-such-heading"));
    assert!(named(9, "#nowhere"));
    assert!(named(11, "src/missing/in_code.rs"));
    assert!(problems[0].to_string().starts_with("docs/synthetic.md:3: "));
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    let found = anchors("# Reference\n## `reactor echo`\n### Exit status and the `error:` line\n## What is shown as U+FFFD\n## Chat for browsers and Socket.IO clients\n# Reference\n");
    for anchor in [
        "reference",
        "reactor-echo",
        "exit-status-and-the-error-line",
        "what-is-shown-as-ufffd",
        "chat-for-browsers-and-socketio-clients",
        "reference-1",
    ] {
        assert!(found.contains(anchor), "{anchor} not in {found:?}");
    }
}
