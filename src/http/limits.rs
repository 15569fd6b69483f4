//! Limits checked on the parsed document before anything runs: document size, aliases, depth,
//! directives per field, repeated fields and introspection nesting (complexity is left to the
//! schema, which knows each list's `first`). Each refusal is fast — no database work — and
//! carries its own code.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Refuses a NUL character (U+0000) anywhere in a request's strings, in the document or in its
/// variables: no text of the domain holds one, PostgreSQL cannot store one, and a chain hash or a
/// log line should never have to. Checked before anything runs, so the refusal is the same on
/// both backends.
fn nul_free(request: &async_graphql::Request) -> Result<(), Refusal> {
    fn value_has_nul(v: &async_graphql::Value) -> bool {
        match v {
            async_graphql::Value::String(s) => s.contains('\0'),
            async_graphql::Value::List(items) => items.iter().any(value_has_nul),
            async_graphql::Value::Object(fields) => fields
                .iter()
                .any(|(k, v)| k.contains('\0') || value_has_nul(v)),
            _ => false,
        }
    }
    let query = &request.query;
    let in_document = query.contains('\0') || query.contains("\\u0000") || query.contains("\\u{0}");
    let in_variables = request.variables.iter().any(|(_, v)| value_has_nul(v));
    if in_document || in_variables {
        return Err(Refusal {
            code: "BAD_USER_INPUT",
            message: "text must not contain the NUL character (U+0000)".into(),
        });
    }
    Ok(())
}

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

/// The heaviest path down a selection set, following fragment spreads (a spread already on the
/// path counts as a leaf, so cycles end). Each field on the path adds `weight(name, inside)`,
/// where `inside` says whether the path has entered `__schema` or `__type`.
fn heaviest_path<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    inside: bool,
    weight: fn(&str, bool) -> usize,
    path: &mut Vec<&'a str>,
) -> usize {
    set.items
        .iter()
        .map(|s| match &s.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                let inside = inside || name == "__schema" || name == "__type";
                weight(name, inside)
                    + heaviest_path(&f.node.selection_set.node, doc, inside, weight, path)
            }
            Selection::InlineFragment(i) => {
                heaviest_path(&i.node.selection_set.node, doc, inside, weight, path)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match doc.fragments.get(&spread.node.fragment_name.node) {
                    Some(f) if !path.contains(&name) => {
                        path.push(name);
                        let d =
                            heaviest_path(&f.node.selection_set.node, doc, inside, weight, path);
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

/// The deepest field nesting of an operation.
fn depth(set: &SelectionSet, doc: &ExecutableDocument) -> usize {
    heaviest_path(set, doc, false, |_, _| 1, &mut Vec::new())
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

/// The most times one response key is selected in a single selection set, fragments aside.
/// Repeating a field adds nothing to the answer (the copies merge) but costs the server work for
/// each copy: `{ __typename __typename … }` five hundred times is a cheap denial of service.
fn repeats(set: &SelectionSet) -> usize {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut deepest = 0;
    for s in &set.items {
        match &s.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.as_str();
                *counts.entry(key).or_default() += 1;
                deepest = deepest.max(repeats(&f.node.selection_set.node));
            }
            Selection::InlineFragment(i) => {
                deepest = deepest.max(repeats(&i.node.selection_set.node));
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    counts.into_values().max().unwrap_or(0).max(deepest)
}

/// The introspection fields that return lists of types' parts: nesting them inside one another
/// (`fields { type { fields { type { … } } } }`) multiplies the answer at every level.
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];

/// How deeply the introspection lists nest below `__schema` or `__type` (graphql-js's
/// MaxIntrospectionDepthRule counts the same way). The playground's own introspection query
/// nests them one deep.
fn introspection_depth(set: &SelectionSet, doc: &ExecutableDocument) -> usize {
    heaviest_path(
        set,
        doc,
        false,
        |name, inside| usize::from(inside && INTROSPECTION_LISTS.contains(&name)),
        &mut Vec::new(),
    )
}

/// Introspection lists may nest at most this deep (graphql-js refuses three levels as well).
pub const MAX_INTROSPECTION_DEPTH: usize = 2;

/// Everything checked on a request before it runs, over HTTP and WebSocket alike: the
/// document's limits, then its text.
pub fn check_request(
    request: &async_graphql::Request,
    doc: &ExecutableDocument,
    limits: DocumentLimits,
) -> Result<(), Refusal> {
    check(&request.query, doc, limits)?;
    nul_free(request)
}

/// The limits a document is checked against.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_bytes: usize,
    pub max_aliases: usize,
    pub max_depth: usize,
    pub max_directives: usize,
    pub max_field_repeats: usize,
}

impl DocumentLimits {
    pub fn of(limits: &crate::graphql::SchemaLimits) -> Self {
        Self {
            max_bytes: limits.max_document_bytes,
            max_aliases: limits.max_aliases,
            max_depth: limits.max_depth,
            max_directives: limits.max_directives,
            max_field_repeats: limits.max_field_repeats,
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
        max_field_repeats,
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
        .map(|(_, op)| depth(&op.node.selection_set.node, doc))
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
    let most = sets().map(repeats).max().unwrap_or(0);
    if most > max_field_repeats {
        return Err(Refusal {
            code: "FIELD_REPEATED",
            message: format!(
                "a field is selected {most} times in one selection set; at most \
                 {max_field_repeats} are accepted (repeated fields merge into one answer)"
            ),
        });
    }
    let nested = doc
        .operations
        .iter()
        .map(|(_, op)| introspection_depth(&op.node.selection_set.node, doc))
        .max()
        .unwrap_or(0);
    if nested > MAX_INTROSPECTION_DEPTH {
        return Err(Refusal {
            code: "INTROSPECTION_TOO_DEEP",
            message: format!(
                "introspection lists (fields, interfaces, possibleTypes, inputFields) nest \
                 {nested} levels deep; at most {MAX_INTROSPECTION_DEPTH} are accepted"
            ),
        });
    }
    Ok(())
}

/// Codes the errors the engine raised itself, over HTTP and WebSocket alike: the limits have
/// their own codes; others without a path come from validation, with a path from coercing an
/// argument the client sent. Errors that carry a code already keep it.
pub fn code_engine_response_errors(errors: &mut [async_graphql::ServerError]) {
    for e in errors {
        let code = code_for_engine_message(&e.message).unwrap_or(if e.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "BAD_USER_INPUT"
        });
        crate::graphql::code_engine_errors(std::slice::from_mut(e), code);
    }
}

/// Gives the schema's own limit errors their codes (async-graphql raises them without one).
fn code_for_engine_message(message: &str) -> Option<&'static str> {
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
            max_field_repeats: 2,
        }
    }

    #[test]
    fn repeated_fields_are_counted_per_selection_set() {
        let q = "{ a b a { c c } ...F } fragment F on T { a }";
        assert!(check(q, &doc(q), limits(1000, 10)).is_ok());
        let q = "{ x { c c c } }";
        let r = check(q, &doc(q), limits(1000, 10)).unwrap_err();
        assert_eq!(r.code, "FIELD_REPEATED");
        assert!(r.message.contains("3 times"), "{}", r.message);
        // An alias is its own response key; the alias cap covers those.
        let q = "{ a x: a y: a }";
        assert!(check(q, &doc(q), limits(1000, 10)).is_ok());
        let q = "{ ...F } fragment F on T { b b b }";
        assert_eq!(
            check(q, &doc(q), limits(1000, 10)).unwrap_err().code,
            "FIELD_REPEATED"
        );
    }

    #[test]
    fn introspection_lists_nest_at_most_two_deep() {
        let lim = DocumentLimits {
            max_depth: 100,
            ..limits(10_000, 10)
        };
        let ok = "{ __schema { types { name fields { name type { name ofType { name } } } interfaces { name } possibleTypes { name } inputFields { name } } } }";
        assert!(check(ok, &doc(ok), lim).is_ok());
        let two = "{ __type(name: \"X\") { fields { type { fields { name } } } } }";
        assert!(check(two, &doc(two), lim).is_ok());
        let circular = "query { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }";
        let r = check(circular, &doc(circular), lim).unwrap_err();
        assert_eq!(r.code, "INTROSPECTION_TOO_DEEP");
        // Through fragments too, and fields named like the lists outside introspection are free.
        let q = "{ __schema { types { ...T } } } fragment T on __Type { fields { type { interfaces { possibleTypes { name } } } } }";
        assert_eq!(
            check(q, &doc(q), lim).unwrap_err().code,
            "INTROSPECTION_TOO_DEEP"
        );
        let q = "{ fields { fields { fields { name } } } }";
        assert!(check(q, &doc(q), lim).is_ok());
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
