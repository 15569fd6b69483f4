//! Relay global object identification and cursor connections.

use async_graphql::{SimpleObject, ID};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::error::AppError;

/// The object types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    District,
    Subdistrict,
    Community,
    Estate,
    Building,
    House,
    Owner,
    PropertyCompany,
    Committee,
    Ballot,
    BallotItem,
    BallotOption,
    Voter,
    Account,
    AccountEntry,
    Distribution,
    Disclosure,
}

impl NodeKind {
    const ALL: [NodeKind; 17] = [
        NodeKind::District,
        NodeKind::Subdistrict,
        NodeKind::Community,
        NodeKind::Estate,
        NodeKind::Building,
        NodeKind::House,
        NodeKind::Owner,
        NodeKind::PropertyCompany,
        NodeKind::Committee,
        NodeKind::Ballot,
        NodeKind::BallotItem,
        NodeKind::BallotOption,
        NodeKind::Voter,
        NodeKind::Account,
        NodeKind::AccountEntry,
        NodeKind::Distribution,
        NodeKind::Disclosure,
    ];

    /// The GraphQL type name, which is also the prefix inside the id.
    pub fn type_name(self) -> &'static str {
        match self {
            NodeKind::District => "District",
            NodeKind::Subdistrict => "Subdistrict",
            NodeKind::Community => "Community",
            NodeKind::Estate => "Estate",
            NodeKind::Building => "Building",
            NodeKind::House => "House",
            NodeKind::Owner => "Owner",
            NodeKind::PropertyCompany => "PropertyCompany",
            NodeKind::Committee => "Committee",
            NodeKind::Ballot => "Ballot",
            NodeKind::BallotItem => "BallotItem",
            NodeKind::BallotOption => "BallotOption",
            NodeKind::Voter => "Voter",
            NodeKind::Account => "Account",
            NodeKind::AccountEntry => "AccountEntry",
            NodeKind::Distribution => "Distribution",
            NodeKind::Disclosure => "Disclosure",
        }
    }
}

/// The opaque id of an object: base64 of "Type:number", as Relay servers usually do.
pub fn global_id(kind: NodeKind, id: i64) -> ID {
    ID(STANDARD.encode(format!("{}:{id}", kind.type_name())))
}

/// Decodes any global id.
pub fn decode_global_id(id: &str) -> Result<(NodeKind, i64), AppError> {
    let malformed = || AppError::bad_input(format!("{id:?} is not a valid id"));
    let bytes = STANDARD.decode(id.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (type_name, number) = text.split_once(':').ok_or_else(malformed)?;
    let kind = NodeKind::ALL
        .into_iter()
        .find(|k| k.type_name() == type_name)
        .ok_or_else(malformed)?;
    let number = number.parse::<i64>().map_err(|_| malformed())?;
    Ok((kind, number))
}

/// Decodes a global id that must be of `kind` (an argument typed by its documentation).
pub fn decode_id_of(kind: NodeKind, id: &ID) -> Result<i64, AppError> {
    match decode_global_id(id)? {
        (k, n) if k == kind => Ok(n),
        (other, _) => Err(AppError::bad_input(format!(
            "expected the id of a {}, got the id of a {}",
            kind.type_name(),
            other.type_name()
        ))),
    }
}

/// An opaque cursor: base64url of the position it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

impl Cursor {
    /// Reads a cursor the server issued; anything else is the client's mistake.
    pub fn decode(s: &str) -> Result<Self, AppError> {
        let invalid = || AppError::bad_input(format!("{s:?} is not a valid cursor"));
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        String::from_utf8(bytes).map(Cursor).map_err(|_| invalid())
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    pub fn of_id(id: i64) -> Self {
        Cursor(id.to_string())
    }
}

/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;

/// What a connection field adds to a query's complexity: its page size (as asked for, default
/// when absent, at least 1) times what each item selects, plus the field itself. A nested list
/// is thus charged for every row it could return, so the complexity limit bounds real work.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    items.saturating_mul(child_complexity).saturating_add(1)
}

/// A validated `first`/`after` pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Page {
    pub first: usize,
    /// The decoded `after` cursor, if any.
    pub after: Option<String>,
}

impl Page {
    pub fn new(first: Option<i32>, after: Option<String>) -> Result<Self, AppError> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE} (got {first})"
            )));
        }
        let after = after.map(|a| Cursor::decode(&a).map(|c| c.0)).transpose()?;
        Ok(Self {
            first: first as usize,
            after,
        })
    }

    /// The `after` cursor read as a row id (for lists ordered by id).
    pub fn after_id(&self) -> Result<i64, AppError> {
        match &self.after {
            None => Ok(i64::MIN),
            Some(a) => a.parse::<i64>().map_err(|_| {
                AppError::bad_input("the `after` cursor does not belong to this list")
            }),
        }
    }

    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.first as i64 + 1
    }
}

/// Where a page stands in its list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// True when the page was asked for with an `after` cursor.
    pub has_previous_page: bool,
    /// True when more items follow this page.
    pub has_next_page: bool,
    /// The cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// The cursor of the last item; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// A page of items with their cursors, before it becomes a domain's connection type.
#[derive(Debug)]
pub struct Paged<N> {
    pub edges: Vec<(String, N)>,
    pub page_info: PageInfo,
}

/// Declares a Relay connection type and its edge type for one node type. Generic connection
/// types cannot carry descriptions in async-graphql, and every type of the schema has one.
#[macro_export]
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty, $items:literal) => {
        #[doc = concat!("One page of ", $items, " (a Relay cursor connection): at most 100 items, with what is needed to ask for the next page.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $connection {
            /// The items of this page, each with its cursor.
            pub edges: Vec<$edge>,
            /// Where this page stands in the list.
            pub page_info: $crate::graphql::relay::PageInfo,
        }

        #[doc = concat!("One of ", $items, ", with its cursor.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// The item.
            pub node: $node,
            /// The item's position in the list, for `after`.
            pub cursor: String,
        }

        impl From<$crate::graphql::relay::Paged<$node>> for $connection {
            fn from(p: $crate::graphql::relay::Paged<$node>) -> Self {
                Self {
                    edges: p.edges.into_iter().map(|(cursor, node)| $edge { node, cursor }).collect(),
                    page_info: p.page_info,
                }
            }
        }
    };
}

/// Builds a connection from rows fetched with `fetch_limit` (one more than the page).
pub fn connection_from_rows<R, N, C: From<Paged<N>>>(
    page: &Page,
    mut rows: Vec<R>,
    cursor_of: impl Fn(&R) -> Cursor,
    node_of: impl Fn(R) -> N,
) -> C {
    let has_next = rows.len() > page.first;
    rows.truncate(page.first);
    let edges: Vec<(String, N)> = rows
        .into_iter()
        .map(|r| (cursor_of(&r).encode(), node_of(r)))
        .collect();
    C::from(Paged {
        page_info: PageInfo {
            has_previous_page: page.after.is_some(),
            has_next_page: has_next,
            start_cursor: edges.first().map(|e| e.0.clone()),
            end_cursor: edges.last().map(|e| e.0.clone()),
        },
        edges,
    })
}

/// Pages an id-ordered list already in memory (children of one parent, which are few).
pub fn connection_from_slice<R: Clone, N, C: From<Paged<N>>>(
    page: &Page,
    rows: &[R],
    id_of: impl Fn(&R) -> i64,
    node_of: impl Fn(R) -> N,
) -> Result<C, AppError> {
    let after = page.after_id()?;
    let rest: Vec<R> = rows
        .iter()
        .filter(|r| id_of(r) > after)
        .take(page.first + 1)
        .cloned()
        .collect();
    Ok(connection_from_rows(
        page,
        rest,
        |r| Cursor::of_id(id_of(r)),
        node_of,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_check_their_type() {
        let id = global_id(NodeKind::Estate, 42);
        assert_eq!(decode_global_id(&id).unwrap(), (NodeKind::Estate, 42));
        assert_eq!(decode_id_of(NodeKind::Estate, &id).unwrap(), 42);
        assert!(matches!(
            decode_id_of(NodeKind::House, &id),
            Err(AppError::BadUserInput(_))
        ));
        assert!(decode_global_id("bm9wZQ==").is_err());
        assert!(decode_global_id("%%%").is_err());
        assert!(decode_global_id(&STANDARD.encode("Estate:x")).is_err());
    }

    #[test]
    fn page_bounds() {
        assert_eq!(Page::new(None, None).unwrap().first, 20);
        assert_eq!(Page::new(Some(100), None).unwrap().first, 100);
        assert!(Page::new(Some(101), None).is_err());
        assert!(Page::new(Some(-1), None).is_err());
        assert!(Page::new(Some(5), Some("!!".into())).is_err());
        let c = Cursor::of_id(7).encode();
        assert_eq!(Page::new(Some(5), Some(c)).unwrap().after_id().unwrap(), 7);
    }

    #[test]
    fn slices_page_by_id() {
        let rows: Vec<i64> = (1..=5).collect();
        let page = Page::new(Some(2), Some(Cursor::of_id(2).encode())).unwrap();
        let c: Paged<i32> = connection_from_slice(&page, &rows, |r| *r, |r| r as i32).unwrap();
        let nodes: Vec<i32> = c.edges.iter().map(|e| e.1).collect();
        assert_eq!(nodes, vec![3, 4]);
        assert!(c.page_info.has_next_page);
        assert!(c.page_info.has_previous_page);
    }
}

#[cfg(test)]
mod page_cost_tests {
    use super::*;

    #[test]
    fn lists_are_charged_by_their_page() {
        assert_eq!(page_cost(Some(10), 3), 31);
        assert_eq!(page_cost(None, 1), DEFAULT_PAGE as usize + 1);
        // Out-of-range pages are refused elsewhere; here they never undercharge or overflow.
        assert_eq!(page_cost(Some(0), 5), 6);
        assert_eq!(page_cost(Some(-3), 5), 6);
        assert_eq!(page_cost(Some(1_000), 1), MAX_PAGE as usize + 1);
        assert_eq!(page_cost(Some(100), usize::MAX), usize::MAX);
    }
}
