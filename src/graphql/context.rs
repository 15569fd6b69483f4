//! What every resolver reads from the request context: the viewer, the database and the loaders.

use async_graphql::Context;

use crate::auth::Viewer;
use crate::ballots::hub::ProgressHub;
use crate::ballots::loaders::BallotLoaders;
use crate::ballots::scheduler::Clock;
use crate::db::Db;
use crate::disclosure::loaders::DisclosureLoaders;
use crate::error::{AppError, AppResult};
use crate::events::Bus;
use crate::finance::graphql::FinanceLoaders;
use crate::registry::loaders::RegistryLoaders;

/// Per-request data: built by the HTTP handler (or per WebSocket connection).
pub struct RequestData {
    /// `None` when the request carried no token; resolvers then answer UNAUTHENTICATED.
    pub viewer: Option<Viewer>,
    pub db: Db,
    pub bus: Bus,
    pub hub: ProgressHub,
    pub clock: Clock,
    pub disclosure_due_days: i64,
    pub registry: RegistryLoaders,
    pub ballots: BallotLoaders,
    pub finance: FinanceLoaders,
    pub disclosures: DisclosureLoaders,
}

impl RequestData {
    /// `db` is the request's own handle (it may count statements for this request).
    pub fn new(viewer: Option<Viewer>, db: Db, state: &crate::AppState) -> Self {
        let registry = RegistryLoaders::new(&db);
        let ballots = BallotLoaders::new(&db);
        let finance = FinanceLoaders::new(&db);
        let disclosures = DisclosureLoaders::new(&db, &state.clock);
        Self {
            viewer,
            db,
            bus: state.bus.clone(),
            hub: state.hub.clone(),
            clock: state.clock.clone(),
            disclosure_due_days: state.disclosure_due_days,
            registry,
            ballots,
            finance,
            disclosures,
        }
    }
}

/// Accessors for resolvers, so they stay one line each.
pub trait ContextExt {
    fn data_of_request(&self) -> &RequestData;

    /// The authenticated viewer, or UNAUTHENTICATED.
    fn viewer(&self) -> AppResult<&Viewer> {
        self.data_of_request()
            .viewer
            .as_ref()
            .ok_or(AppError::Unauthenticated)
    }

    fn db(&self) -> &Db {
        &self.data_of_request().db
    }

    fn loaders(&self) -> &RegistryLoaders {
        &self.data_of_request().registry
    }

    fn bus(&self) -> &Bus {
        &self.data_of_request().bus
    }

    fn ballot_loaders(&self) -> &BallotLoaders {
        &self.data_of_request().ballots
    }

    fn finance_loaders(&self) -> &FinanceLoaders {
        &self.data_of_request().finance
    }

    fn disclosure_loaders(&self) -> &DisclosureLoaders {
        &self.data_of_request().disclosures
    }

    fn hub(&self) -> &ProgressHub {
        &self.data_of_request().hub
    }

    fn disclosure_due_days(&self) -> i64 {
        self.data_of_request().disclosure_due_days
    }

    fn clock(&self) -> &Clock {
        &self.data_of_request().clock
    }
}

impl ContextExt for Context<'_> {
    fn data_of_request(&self) -> &RequestData {
        // The handlers always insert RequestData; a schema executed without it is a bug in this
        // crate, caught by every test.
        self.data_unchecked::<RequestData>()
    }
}
