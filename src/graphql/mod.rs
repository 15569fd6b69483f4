//! Schema assembly: the merged roots, the Relay `Node` interface and the schema's limits.

pub mod context;
pub mod relay;
pub mod scalars;

use async_graphql::{
    Context, Interface, MergedObject, MergedSubscription, Object, Result, Schema, ID,
};

use crate::ballots::graphql::{Ballot, BallotMutation, BallotQuery, BallotSubscription};
use crate::disclosure::graphql::{DisclosureMutation, DisclosureQuery, DisclosureSubscription};
use crate::finance::graphql::{Account, FinanceMutation, FinanceSubscription};
use crate::registry::graphql::{
    Building, Committee, Community, District, Estate, House, Owner, PropertyCompany,
    RegistryMutation, RegistryQuery, RegistrySubscription, Subdistrict,
};

/// Any object with a global id (Relay object identification).
// Built once per `node` call and returned at once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    District(District),
    Subdistrict(Subdistrict),
    Community(Community),
    Estate(Estate),
    Building(Building),
    House(House),
    Owner(Owner),
    PropertyCompany(PropertyCompany),
    Committee(Committee),
    Ballot(Ballot),
    Account(Account),
}

/// Relay's `node` field.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id, under the same access rules as the fields that lead to it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> Result<Node> {
        let (kind, number) = relay::decode_global_id(&id)?;
        Ok(crate::registry::graphql::resolve_node(ctx, kind, number).await?)
    }
}

/// The query root: one part per domain.
#[derive(MergedObject, Default)]
pub struct QueryRoot(NodeQuery, RegistryQuery, BallotQuery, DisclosureQuery);

/// The mutation root: one part per domain.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    RegistryMutation,
    BallotMutation,
    FinanceMutation,
    DisclosureMutation,
);

/// The subscription root: one part per domain.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    RegistrySubscription,
    BallotSubscription,
    FinanceSubscription,
    DisclosureSubscription,
);

pub type QuorumSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Limits that keep a single document from exhausting the server; generous enough for every
/// playground example.
#[derive(Debug, Clone)]
pub struct SchemaLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_directives: usize,
    pub max_aliases: usize,
    pub max_document_bytes: usize,
    /// Most times one field may be selected in one selection set (copies merge, so more is
    /// only load).
    pub max_field_repeats: usize,
    pub request_timeout: std::time::Duration,
    pub introspection: bool,
    /// "Did you mean …?" in validation errors: development only, since suggestions let a
    /// stranger map the schema with introspection off.
    pub suggestions: bool,
    /// The limits of the WebSocket endpoint.
    pub ws: crate::http::WsLimits,
    /// Most operations in one batched HTTP request; 0 (the default) refuses batches.
    pub max_batch: usize,
    /// Mutations per minute per token and per client address.
    pub rate: crate::http::RateLimits,
    /// Serve the playground at /playground.
    pub playground: bool,
    /// Run queries sent by GET (mutations never run by GET).
    pub get_queries: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_complexity: 500_000,
            max_directives: 5,
            max_aliases: 50,
            max_document_bytes: 32 * 1024,
            max_field_repeats: 3,
            request_timeout: std::time::Duration::from_secs(15),
            introspection: true,
            suggestions: false,
            ws: crate::http::WsLimits::default(),
            max_batch: 0,
            rate: crate::http::RateLimits::default(),
            playground: true,
            get_queries: true,
        }
    }
}

impl SchemaLimits {
    /// The production preset (`--production`): what a public deployment exposes. No
    /// introspection, no playground and no queries by GET, so that a stranger can neither map
    /// the schema nor make a browser send a query for them; every other limit as by default.
    pub fn production() -> Self {
        Self {
            introspection: false,
            playground: false,
            get_queries: false,
            ..Self::default()
        }
    }
}

pub fn build_schema(limits: &SchemaLimits) -> QuorumSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_directives(limits.max_directives);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The SDL the server serves (what `quorum export-schema` prints and schema.graphql holds).
pub fn sdl() -> String {
    build_schema(&SchemaLimits::default()).sdl()
}

/// Sets `extensions.code` on errors that carry none: parse and validation errors raised by the
/// GraphQL engine itself before any resolver ran.
pub fn code_engine_errors(errors: &mut [async_graphql::ServerError], code: &str) {
    for e in errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if !has_code {
            let mut ext = e.extensions.take().unwrap_or_default();
            ext.set("code", code);
            e.extensions = Some(ext);
        }
    }
}
