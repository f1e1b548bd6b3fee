//! Every route of the application, with who may use it. The router is built only through
//! [`Routes::add`], which records the route's access rule in the same table, so no route can
//! exist without a declared rule; `tests/routes.rs` walks the table with every role and checks
//! the responses agree with it.

use axum::Router;
use axum::routing::MethodRouter;
use tokutei_policy::Role;

use crate::AppState;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the public site, health, metrics, the OpenAPI document).
    Public,
    /// A caller with a valid API token (`Authorization: Bearer`): any principal (`None`), or
    /// only people with one of these roles.
    Token(Option<&'static [Role]>),
    /// A signed-in member of staff with one of these roles.
    Staff(&'static [Role]),
}

/// Every staff role.
pub const ALL_ROLES: &[Role] = &[Role::ChiefManager, Role::ResponsiblePerson, Role::Handler, Role::Auditor];
/// The roles that oversee: the staff registry, the access log.
pub const OVERSIGHT: &[Role] = &[Role::ChiefManager, Role::ResponsiblePerson, Role::Auditor];
/// The roles that manage: registering staff, publishing policy versions (the application
/// layer's own list, which its actions check).
pub const MANAGERS: &[Role] = tokutei_app::MANAGERS;

/// One row of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: &'static str,
    /// The route template, with an example value for each `{parameter}` in `example`.
    pub path: &'static str,
    pub example: &'static str,
    pub access: Access,
}

/// The router under construction and its table.
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    pub(crate) fn new() -> Routes {
        Routes { router: Router::new(), table: Vec::new() }
    }

    /// Add `handler` for `method` on `path` (with `example` as a concrete path for tests).
    pub(crate) fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        example: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Routes {
        self.router = self.router.route(path, handler);
        self.table.push(RouteInfo { method, path, example, access });
        self
    }

    pub(crate) fn finish(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}
