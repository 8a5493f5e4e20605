//! The route table: which path and method go to which handler, under which route name.

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};

use crate::admin;
use crate::app::App;
use crate::ecl;
use crate::ecl_connections;
use crate::errors;
use crate::identity::{self, Identity};
use crate::middleware::{self, RouteContext};
use crate::nova;
use crate::nova_cloudpipe;
use crate::nova_servers;
use crate::route::{self, Route};
use crate::server_metadata;
use crate::sss;

/// Every emulated route. Each handler is wrapped in `middleware::around_route` under its name.
/// Nova answers both with and without the project id in the URL (its `ProjectMapper`); SSS answers
/// under the v1 and the v2 catalog paths; the identity routes exist only when the identity is
/// built in.
pub fn router(app: &App, identity: Option<Arc<Identity>>) -> Router {
    let named = |route: Route| {
        from_fn_with_state(
            RouteContext {
                app: app.clone(),
                route,
            },
            middleware::around_route,
        )
    };

    let mut nova = Router::new()
        .route("/", get(nova::versions.layer(named(route::NOVA_VERSIONS))))
        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN)));
    for prefix in ["/v2.1", "/v2.1/{project_id}"] {
        let version = get(nova::version.layer(named(route::NOVA_VERSION)))
            .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN)));
        nova =
            nova.route(prefix, version.clone())
                .route(&format!("{prefix}/"), version)
                .route(
                    &format!("{prefix}/os-cloudpipe"),
                    get(nova_cloudpipe::list.layer(named(route::NOVA_CLOUDPIPE_LIST)))
                        .post(nova_cloudpipe::create.layer(named(route::NOVA_CLOUDPIPE_CREATE)))
                        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                )
                .route(
                    &format!("{prefix}/os-cloudpipe/{{action}}"),
                    put(nova_cloudpipe::configure_project
                        .layer(named(route::NOVA_CLOUDPIPE_CONFIGURE)))
                    .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                )
                .route(
                    &format!("{prefix}/servers/detail"),
                    get(nova_servers::list.layer(named(route::NOVA_SERVER_LIST)))
                        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                )
                .route(
                    &format!("{prefix}/servers/{{server_id}}"),
                    get(nova_servers::show.layer(named(route::NOVA_SERVER_GET)))
                        .delete(nova_servers::delete.layer(named(route::NOVA_SERVER_DELETE)))
                        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                )
                .route(
                    &format!("{prefix}/servers/{{server_id}}/metadata"),
                    get(server_metadata::list.layer(named(route::NOVA_METADATA_LIST)))
                        .post(server_metadata::merge.layer(named(route::NOVA_METADATA_SET)))
                        .put(server_metadata::replace.layer(named(route::NOVA_METADATA_SET)))
                        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                )
                .route(
                    &format!("{prefix}/servers/{{server_id}}/metadata/{{key}}"),
                    get(server_metadata::show.layer(named(route::NOVA_METADATA_GET)))
                        .put(server_metadata::set_item.layer(named(route::NOVA_METADATA_SET)))
                        .delete(
                            server_metadata::delete_item.layer(named(route::NOVA_METADATA_DELETE)),
                        )
                        .fallback(nova::not_found.layer(named(route::NOVA_UNKNOWN))),
                );
    }

    let ecl = Router::new()
        .route(
            "/v2.0/tenant_connection_requests",
            get(ecl::list.layer(named(route::ECL_TCR_LIST)))
                .post(ecl::create.layer(named(route::ECL_TCR_CREATE)))
                .fallback(ecl::unknown.layer(named(route::ECL_UNKNOWN))),
        )
        .route(
            "/v2.0/tenant_connection_requests/{id}",
            get(ecl::show.layer(named(route::ECL_TCR_GET)))
                .put(ecl::update.layer(named(route::ECL_TCR_UPDATE)))
                .delete(ecl::delete.layer(named(route::ECL_TCR_DELETE)))
                .fallback(ecl::unknown.layer(named(route::ECL_UNKNOWN))),
        )
        .route(
            "/v2.0/tenant_connections",
            get(ecl_connections::list.layer(named(route::ECL_TC_LIST)))
                .post(ecl_connections::create.layer(named(route::ECL_TC_CREATE)))
                .fallback(ecl::unknown.layer(named(route::ECL_UNKNOWN))),
        )
        .route(
            "/v2.0/tenant_connections/{id}",
            get(ecl_connections::show.layer(named(route::ECL_TC_GET)))
                .put(ecl_connections::update.layer(named(route::ECL_TC_UPDATE)))
                .delete(ecl_connections::delete.layer(named(route::ECL_TC_DELETE)))
                .fallback(ecl::unknown.layer(named(route::ECL_UNKNOWN))),
        )
        .fallback(ecl::unknown.layer(named(route::ECL_UNKNOWN)));

    let sss = Router::new()
        .route(
            "/approval-requests",
            get(sss::list.layer(named(route::SSS_APPROVAL_LIST)))
                .fallback(sss::unknown.layer(named(route::SSS_UNKNOWN))),
        )
        .route(
            "/approval-requests/{id}",
            get(sss::show.layer(named(route::SSS_APPROVAL_GET)))
                .put(sss::update.layer(named(route::SSS_APPROVAL_UPDATE)))
                .fallback(sss::unknown.layer(named(route::SSS_UNKNOWN))),
        )
        .fallback(sss::unknown.layer(named(route::SSS_UNKNOWN)));

    let mut router = Router::new()
        // Nested routers do not see their own root with a trailing slash.
        .route(
            "/compute/",
            get(nova::versions.layer(named(route::NOVA_VERSIONS))),
        )
        .nest("/compute", nova)
        .nest("/provider-connectivity", ecl)
        .nest("/sss/api/v1.0", sss.clone())
        .nest("/sss/api/v2", sss)
        .nest("/_admin", admin::routes())
        .fallback(unknown.layer(named(route::UNKNOWN)));

    if let Some(identity) = identity {
        let discovery = get(identity::discovery.layer(named(route::IDENTITY_DISCOVERY)));
        let identity_routes: Router<App> = Router::new()
            .route(
                "/",
                get(identity::versions.layer(named(route::IDENTITY_VERSIONS))),
            )
            .route("/v3", discovery.clone())
            .route("/v3/", discovery)
            .route(
                "/v3/auth/tokens",
                post(identity::issue_token.layer(named(route::IDENTITY_TOKEN_CREATE)))
                    .get(identity::validate_token.layer(named(route::IDENTITY_TOKEN_VALIDATE)))
                    .delete(identity::revoke_token.layer(named(route::IDENTITY_TOKEN_REVOKE)))
                    .fallback(unknown.layer(named(route::UNKNOWN))),
            )
            .with_state(identity);
        router = router.merge(identity_routes);
    }
    router.with_state(app.clone())
}

/// Anything no service claims.
async fn unknown() -> axum::response::Response {
    errors::keystone(
        axum::http::StatusCode::NOT_FOUND,
        "The resource could not be found.",
    )
}
