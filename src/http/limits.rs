//! Limits checked on the parsed document before anything runs: document size and aliases
//! (depth, complexity and directives are enforced by the schema itself). Each refusal is fast
//! — no database work — and carries its own code.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

/// Counts the aliased fields of a selection set, fragments included once each.
fn aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(i) => aliases(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// The deepest field nesting of a selection set, following fragment spreads (a spread already
/// on the path counts as a leaf, so cycles end).
fn depth<'a>(set: &'a SelectionSet, doc: &'a ExecutableDocument, path: &mut Vec<&'a str>) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => 1 + depth(&f.node.selection_set.node, doc, path),
            Selection::InlineFragment(i) => depth(&i.node.selection_set.node, doc, path),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match doc.fragments.get(&spread.node.fragment_name.node) {
                    Some(f) if !path.contains(&name) => {
                        path.push(name);
                        let d = depth(&f.node.selection_set.node, doc, path);
                        path.pop();
                        d
                    }
                    _ => 0,
                }
            }
        })
        .max()
        .unwrap_or(0)
}

/// The most directives on any one field.
fn directives(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => f
                .node
                .directives
                .len()
                .max(directives(&f.node.selection_set.node)),
            Selection::InlineFragment(i) => i
                .node
                .directives
                .len()
                .max(directives(&i.node.selection_set.node)),
            Selection::FragmentSpread(f) => f.node.directives.len(),
        })
        .max()
        .unwrap_or(0)
}

/// The limits a document is checked against.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_aliases: usize,
    pub max_depth: usize,
    pub max_directives: usize,
}

impl DocumentLimits {
    pub fn of(limits: &crate::graphql::SchemaLimits) -> Self {
        Self {
            max_bytes: limits.max_document_bytes,
            max_aliases: limits.max_aliases,
            max_depth: limits.max_depth,
            max_directives: limits.max_directives,
        }
    }
}

/// Checks a parsed document against the limits.
pub fn check(query: &str, doc: &ExecutableDocument, limits: DocumentLimits) -> Result<(), Refusal> {
    let DocumentLimits {
        max_bytes,
        max_aliases,
        max_depth,
        max_directives,
    } = limits;
    if query.len() > max_bytes {
        return Err(Refusal {
            code: "DOCUMENT_TOO_LARGE",
            message: format!(
                "the document has {} bytes; at most {max_bytes} are accepted",
                query.len()
            ),
        });
    }
    let in_operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| aliases(&op.node.selection_set.node))
        .sum();
    let in_fragments: usize = doc
        .fragments
        .values()
        .map(|f| aliases(&f.node.selection_set.node))
        .sum();
    let total = in_operations + in_fragments;
    if total > max_aliases {
        return Err(Refusal {
            code: "TOO_MANY_ALIASES",
            message: format!(
                "the document uses {total} aliases; at most {max_aliases} are accepted"
            ),
        });
    }
    let sets = || {
        doc.operations
            .iter()
            .map(|(_, op)| &op.node.selection_set.node)
            .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
    };
    let deepest = doc
        .operations
        .iter()
        .map(|(_, op)| depth(&op.node.selection_set.node, doc, &mut Vec::new()))
        .max()
        .unwrap_or(0);
    if deepest > max_depth {
        return Err(Refusal {
            code: "QUERY_TOO_DEEP",
            message: format!(
                "the document nests {deepest} levels deep; at most {max_depth} are accepted"
            ),
        });
    }
    let most = sets().map(directives).max().unwrap_or(0);
    if most > max_directives {
        return Err(Refusal {
            code: "TOO_MANY_DIRECTIVES",
            message: format!(
                "a field carries {most} directives; at most {max_directives} are accepted"
            ),
        });
    }
    Ok(())
}

/// Gives the schema's own limit errors their codes (async-graphql raises them without one).
pub fn code_for_engine_message(message: &str) -> Option<&'static str> {
    let m = message.to_lowercase();
    if m.contains("nested too deep") || m.contains("recursion depth") {
        Some("QUERY_TOO_DEEP")
    } else if m.contains("too complex") {
        Some("QUERY_TOO_COMPLEX")
    } else if m.contains("directives") && m.contains("limit") || m.contains("too many directives") {
        Some("TOO_MANY_DIRECTIVES")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).unwrap()
    }

    #[test]
    fn aliases_are_counted_everywhere() {
        let q = "query { a: x b: x { c: y } ...F ... on T { d: z } } fragment F on T { e: w }";
        assert!(check(q, &doc(q), limits(10_000, 5)).is_ok());
        let r = check(q, &doc(q), limits(10_000, 4)).unwrap_err();
        assert_eq!(r.code, "TOO_MANY_ALIASES");
        assert!(r.message.contains("5 aliases"));
    }

    #[test]
    fn documents_have_a_size_cap() {
        let q = "{ x }";
        assert_eq!(
            check(q, &doc(q), limits(4, 10)).unwrap_err().code,
            "DOCUMENT_TOO_LARGE"
        );
    }

    fn limits(max_bytes: usize, max_aliases: usize) -> DocumentLimits {
        DocumentLimits {
            max_bytes,
            max_aliases,
            max_depth: 3,
            max_directives: 2,
        }
    }

    #[test]
    fn depth_follows_fragments_and_stops_on_cycles() {
        let q = "{ a { b { c } } }";
        assert!(check(q, &doc(q), limits(1000, 10)).is_ok());
        let q = "{ a { b { c { d } } } }";
        assert_eq!(
            check(q, &doc(q), limits(1000, 10)).unwrap_err().code,
            "QUERY_TOO_DEEP"
        );
        let q = "{ a { ...F } } fragment F on T { b { c { d } } }";
        assert_eq!(
            check(q, &doc(q), limits(1000, 10)).unwrap_err().code,
            "QUERY_TOO_DEEP"
        );
        let q = "{ a { ...F } } fragment F on T { b { ...F } }";
        assert!(check(q, &doc(q), limits(1000, 10)).is_ok());
    }

    #[test]
    fn directives_per_field() {
        let q = "{ a @skip(if: false) @include(if: true) }";
        assert!(check(q, &doc(q), limits(1000, 10)).is_ok());
        let q = "{ a @skip(if: false) @skip(if: false) @skip(if: false) }";
        assert_eq!(
            check(q, &doc(q), limits(1000, 10)).unwrap_err().code,
            "TOO_MANY_DIRECTIVES"
        );
    }
}
