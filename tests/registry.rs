//! The register over GraphQL: nested reads, figures, paging, filters and Relay ids.

mod common;

use common::{backends, Seed, TestServer};
use quorum::auth::Role;
use serde_json::{json, Value};

#[tokio::test]
async fn committee_member_reads_the_nested_register_with_masked_names() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let token = server.demo_token(Role::CommitteeMember);
        let data = server
            .data(
                &token,
                r#"{ viewer { role owner { displayName } }
                     estates(first: 10) { edges { node { name
                       stats { households registrationRate totalExclusiveArea }
                       committee { members(first: 10) { edges { node { position owner { id displayName } } } } }
                       buildings(first: 1) { edges { node { label houses(first: 3) { edges { node { address owners { edges { node { id displayName } } } } } } } } }
                     } } } }"#,
                json!({}),
            )
            .await;
        assert_eq!(data["viewer"]["role"], "COMMITTEE_MEMBER");
        assert_eq!(data["viewer"]["owner"]["displayName"], "李秀英");
        let estates = data["estates"]["edges"].as_array().expect("estates");
        assert_eq!(
            estates.len(),
            1,
            "[{backend:?}] a committee member sees their estate only"
        );
        let estate = &estates[0]["node"];
        assert_eq!(estate["name"], "逸景公馆");
        assert_eq!(estate["stats"]["households"], "842");
        let rate: f64 = estate["stats"]["registrationRate"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("rate");
        assert!(
            (85.0..=95.0).contains(&rate),
            "about 90% registered, got {rate}"
        );
        let houses = &estate["buildings"]["edges"][0]["node"]["houses"]["edges"];
        assert_eq!(houses[0]["node"]["address"], "1号楼1单元101");
        // The demo owner's name is masked for the committee member; her own is not.
        assert_eq!(
            houses[0]["node"]["owners"]["edges"][0]["node"]["displayName"],
            "王*国"
        );
        assert_eq!(
            houses[1]["node"]["owners"]["edges"][0]["node"]["displayName"],
            "李秀英"
        );
        let members = estate["committee"]["members"]["edges"]
            .as_array()
            .expect("members");
        assert_eq!(members[0]["node"]["position"], "CHAIR");
        assert!(members.len() >= 3);
        server.stop().await;
    }
}

#[tokio::test]
async fn estates_page_filter_and_sort() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let analyst = server.demo_token(Role::Analyst);
        let q = r#"query($first: Int, $after: String, $order: EstateOrder, $filter: EstateListFilter) {
            estates(first: $first, after: $after, orderBy: $order, filter: $filter) {
              edges { cursor node { id name stats { households registrationRate } district { id name } } }
              pageInfo { hasNextPage hasPreviousPage endCursor }
            } }"#;
        // Households, largest first, two per page, walked to the end.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let d = server
                .data(&analyst, q, json!({"first": 2, "after": after, "order": {"field": "HOUSEHOLDS", "direction": "DESC"}}))
                .await;
            let conn = &d["estates"];
            for e in conn["edges"].as_array().expect("edges") {
                seen.push((
                    e["node"]["name"].as_str().unwrap_or_default().to_string(),
                    e["node"]["stats"]["households"]
                        .as_str()
                        .and_then(|h| h.parse::<i64>().ok())
                        .unwrap_or(-1),
                ));
            }
            if conn["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
        }
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["新城红岛湾", "逸景公馆", "福林苑", "海韵花园"],
            "[{backend:?}]"
        );
        assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1));

        // Registration rate ascending.
        let d = server
            .data(
                &analyst,
                q,
                json!({"first": 10, "order": {"field": "REGISTRATION_RATE"}}),
            )
            .await;
        let rates: Vec<f64> = d["estates"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| {
                e["node"]["stats"]["registrationRate"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(-1.0)
            })
            .collect();
        assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");

        // Filter by district and by name.
        let district = d["estates"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["name"] == "逸景公馆")
            .map(|e| e["node"]["district"]["id"].clone())
            .expect("逸景公馆");
        let d = server
            .data(&analyst, q, json!({"filter": {"districtId": district}}))
            .await;
        let mut names: Vec<String> = d["estates"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["福林苑", "逸景公馆"]);
        let d = server
            .data(&analyst, q, json!({"filter": {"nameContains": "红岛"}}))
            .await;
        assert_eq!(d["estates"]["edges"][0]["node"]["name"], "新城红岛湾");
        let d = server
            .data(&analyst, q, json!({"filter": {"nameContains": "%"}}))
            .await;
        assert_eq!(
            d["estates"]["edges"].as_array().map(Vec::len),
            Some(0),
            "% is matched literally"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn bad_paging_and_ids_are_client_errors() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let admin = server.demo_token(Role::CityAdmin);
        let code = |body: &Value| {
            body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let b = server
            .gql(
                Some(&admin),
                "{ estates(first: 101) { edges { cursor } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let b = server
            .gql(
                Some(&admin),
                "{ estates(first: -1) { edges { cursor } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let b = server
            .gql(
                Some(&admin),
                r#"{ estates(after: "not-a-cursor!") { edges { cursor } } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        // A cursor of another ordering does not belong to this list.
        let b = server
            .gql(
                Some(&admin),
                r#"{ estates(first: 1, orderBy: {field: HOUSEHOLDS}) { edges { cursor } } }"#,
                json!({}),
            )
            .await;
        let cursor = b["data"]["estates"]["edges"][0]["cursor"]
            .as_str()
            .expect("cursor")
            .to_string();
        let b = server
            .gql(
                Some(&admin),
                "query($c: String) { estates(after: $c) { edges { cursor } } }",
                json!({"c": cursor}),
            )
            .await;
        assert!(
            b.get("errors").is_none(),
            "a households cursor is still a valid position by name: {b}"
        );
        let b = server
            .gql(
                Some(&admin),
                r#"{ node(id: "nonsense") { id } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        let missing =
            quorum::graphql::relay::global_id(quorum::graphql::relay::NodeKind::Estate, 999_999).0;
        let b = server
            .gql(
                Some(&admin),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": missing}),
            )
            .await;
        assert_eq!(code(&b), "NOT_FOUND", "{b}");
        let house = quorum::graphql::relay::global_id(quorum::graphql::relay::NodeKind::House, 1).0;
        let b = server
            .gql(
                Some(&admin),
                "query($id: ID!) { estate(id: $id) { id } }",
                json!({"id": house}),
            )
            .await;
        assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
        assert!(b["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Estate"));
        server.stop().await;
    }
}

#[tokio::test]
async fn node_resolves_every_type_and_round_trips_ids() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let admin = server.demo_token(Role::CityAdmin);
        let d = server
            .data(
                &admin,
                r#"{ estates(first: 1, filter: {nameContains: "逸景"}) { edges { node {
                    id community { id subdistrict { id district { id } } } propertyCompany { id } committee { id }
                    buildings(first: 1) { edges { node { id houses(first: 1) { edges { node { id owners { edges { node { id } } } } } } } } }
                } } } }"#,
                json!({}),
            )
            .await;
        let e = &d["estates"]["edges"][0]["node"];
        let b = &e["buildings"]["edges"][0]["node"];
        let h = &b["houses"]["edges"][0]["node"];
        let ids = [
            (e["id"].clone(), "Estate"),
            (e["community"]["id"].clone(), "Community"),
            (e["community"]["subdistrict"]["id"].clone(), "Subdistrict"),
            (
                e["community"]["subdistrict"]["district"]["id"].clone(),
                "District",
            ),
            (e["propertyCompany"]["id"].clone(), "PropertyCompany"),
            (e["committee"]["id"].clone(), "Committee"),
            (b["id"].clone(), "Building"),
            (h["id"].clone(), "House"),
            (h["owners"]["edges"][0]["node"]["id"].clone(), "Owner"),
        ];
        for (id, type_name) in ids {
            let d = server
                .data(
                    &admin,
                    "query($id: ID!) { node(id: $id) { __typename id } }",
                    json!({"id": id}),
                )
                .await;
            assert_eq!(d["node"]["__typename"], type_name);
            assert_eq!(d["node"]["id"], id);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn houses_filter_by_usage_and_building_and_page_per_estate() {
    for backend in backends() {
        let server = TestServer::start(backend, Seed::Demo).await;
        let manager = server.demo_token(Role::PropertyManager);
        let d = server
            .data(
                &manager,
                r#"{ estates(first: 10) { edges { node { name
                    parking: houses(first: 3, filter: {usage: PARKING}) { edges { node { usage address } } pageInfo { hasNextPage } }
                    all: houses(first: 2) { edges { node { id } } pageInfo { endCursor hasNextPage } }
                    buildings(first: 1) { edges { node { id } } }
                } } } }"#,
                json!({}),
            )
            .await;
        let estates = d["estates"]["edges"].as_array().expect("estates");
        assert_eq!(
            estates.len(),
            2,
            "the demo manager's company manages two estates"
        );
        for e in estates {
            let n = &e["node"];
            assert_eq!(n["all"]["edges"].as_array().map(Vec::len), Some(2));
            assert_eq!(n["all"]["pageInfo"]["hasNextPage"], true);
            for p in n["parking"]["edges"].as_array().expect("parking") {
                assert_eq!(p["node"]["usage"], "PARKING");
                assert!(p["node"]["address"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("地下车库B-"));
            }
        }
        let fulin = estates
            .iter()
            .find(|e| e["node"]["name"] == "福林苑")
            .expect("福林苑");
        assert_eq!(
            fulin["node"]["parking"]["edges"].as_array().map(Vec::len),
            Some(3)
        );
        // The next page continues after the cursor; a building filter keeps to the building.
        let building = fulin["node"]["buildings"]["edges"][0]["node"]["id"].clone();
        let after = fulin["node"]["all"]["pageInfo"]["endCursor"].clone();
        let d = server
            .data(
                &manager,
                r#"query($b: ID, $after: String) { estates(filter: {nameContains: "福林"}) { edges { node {
                    next: houses(first: 2, after: $after) { edges { node { id } } }
                    inBuilding: houses(first: 100, filter: {buildingId: $b}) { edges { node { building { id } } } }
                } } } }"#,
                json!({"b": building, "after": after}),
            )
            .await;
        let node = &d["estates"]["edges"][0]["node"];
        let first_ids: Vec<&Value> = fulin["node"]["all"]["edges"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|e| &e["node"]["id"])
            .collect();
        for e in node["next"]["edges"].as_array().expect("next") {
            assert!(!first_ids.contains(&&e["node"]["id"]));
        }
        for e in node["inBuilding"]["edges"].as_array().expect("in building") {
            assert_eq!(e["node"]["building"]["id"], building);
        }
        server.stop().await;
    }
}
