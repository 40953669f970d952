//! What the dispatch board, the technician picker, the map and live updates
//! read: ranked candidates, last known positions, the map settings and the
//! live stream (its per-user limit, its place outside the connection cap,
//! and a change reaching it).

use crate::both_backends;
use crate::harness::{Backend, Srv};
use doorstep_server::app::Config;
use doorstep_server::demo;
use doorstep_server::http::center::live::CHANGE_MARK_SQL;
use doorstep_server::http::streams::STREAMS_PER_USER;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    the_picker_offers_only_qualified_technicians_free_ones_first,
    the_picker_sees_a_booking_made_weeks_before_the_newer_orders,
    the_board_shows_a_days_orders_however_long_ago_taken_and_every_waiting_one,
    technicians_last_positions_are_their_phones_newest_fixes,
    a_technicians_position_moves_only_to_a_newer_fix_and_ages_out,
    the_map_is_told_the_configured_tile_source,
    live_streams_are_counted_per_user_and_not_against_the_connection_cap,
    a_change_reaches_an_open_live_stream,
    a_live_stream_ends_at_shutdown_instead_of_holding_it_up,
    a_live_stream_ends_with_its_session,
);

/// The demo's assignment of a customer, by name.
async fn assignment_of(s: &Srv, token: &str, customer: &str) -> Value {
    let (st, all) = s.get("/api/assignments", token).await;
    assert_eq!(st, 200, "{all}");
    all.as_array()
        .unwrap()
        .iter()
        .find(|a| a["customer"]["name"] == customer)
        .unwrap_or_else(|| panic!("no assignment of {customer}"))
        .clone()
}

async fn the_picker_offers_only_qualified_technicians_free_ones_first(b: Backend) {
    let s = Srv::start(b).await;
    demo::load(&s.state).await.unwrap();
    // 彭波's heating job is 刘洋's, who has 冯兰's at the same time.
    let peng = assignment_of(&s, &s.dispatcher, "彭波").await;
    let feng = assignment_of(&s, &s.dispatcher, "冯兰").await;
    let id = peng["id"].as_str().unwrap();
    let (st, ranked) = s
        .get(&format!("/api/assignments/{id}/candidates"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{ranked}");
    let names: Vec<&str> = ranked["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["孙浩", "刘洋"], "heating only, the free one first");
    assert_eq!(ranked["candidates"][1]["overlapping"], json!([feng["id"]]));
    assert_eq!(ranked["candidates"][0]["overlapping"], json!([]));
    let (st, missing) = s
        .get("/api/assignments/A-none/candidates", &s.dispatcher)
        .await;
    assert_eq!(st, 404, "{missing}");
}

async fn the_picker_sees_a_booking_made_weeks_before_the_newer_orders(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    s.technician("T-2", &["appliance_repair"]).await;
    // An installation booked three weeks ahead for tomorrow 09:00-11:00
    // with T-1; the desk took 3 000 orders since.
    let start = chrono::Utc::now() + chrono::Duration::days(1);
    let window = json!({"start": start, "end": start + chrono::Duration::hours(2)});
    let order = |received: chrono::DateTime<chrono::Utc>| {
        json!({"trade": "appliance_repair", "received_at": received,
               "requested_window": window, "customer": {"name": "黄梅", "phone": "138 0013 8001"}})
    };
    let weeks_ago = chrono::Utc::now() - chrono::Duration::days(21);
    let (st, booked) = s
        .post("/api/assignments", &s.dispatcher, order(weeks_ago))
        .await;
    assert_eq!(st, 201, "{booked}");
    let booked = booked["id"].as_str().unwrap().to_string();
    s.assign(&booked, "T-1").await;
    s.add_newer_orders(3_000).await;

    // A new order at the same time: T-1 is busy then, T-2 is free.
    let (st, new) = s
        .post("/api/assignments", &s.dispatcher, order(chrono::Utc::now()))
        .await;
    assert_eq!(st, 201, "{new}");
    let (st, ranked) = s
        .get(
            &format!(
                "/api/assignments/{}/candidates",
                new["id"].as_str().unwrap()
            ),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{ranked}");
    let by_id = |id: &str| {
        ranked["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["technician_id"] == id)
            .unwrap_or_else(|| panic!("{id} not offered: {ranked}"))
            .clone()
    };
    assert_eq!(by_id("T-1")["overlapping"], json!([booked]), "{ranked}");
    assert_eq!(by_id("T-2")["overlapping"], json!([]), "{ranked}");
}

async fn the_board_shows_a_days_orders_however_long_ago_taken_and_every_waiting_one(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let zone = doorstep_core::business_time::BusinessZone::shanghai();
    let tomorrow = zone.date_of(chrono::Utc::now()) + chrono::Duration::days(1);
    let at =
        |day: chrono::NaiveDate, hour: i64| zone.day_bounds(day).0 + chrono::Duration::hours(hour);
    let weeks_ago = chrono::Utc::now() - chrono::Duration::days(21);
    let order = |window: Option<(chrono::DateTime<chrono::Utc>, i64)>, name: &str| {
        let mut o = json!({"trade": "appliance_repair", "received_at": weeks_ago,
                           "customer": {"name": name, "phone": "138 0013 8001"}});
        if let Some((start, hours)) = window {
            o["requested_window"] =
                json!({"start": start, "end": start + chrono::Duration::hours(hours)});
        }
        o
    };
    let create = |body: Value| {
        let s = &s;
        async move {
            let (st, a) = s.post("/api/assignments", &s.dispatcher, body).await;
            assert_eq!(st, 201, "{a}");
            a["id"].as_str().unwrap().to_string()
        }
    };
    // Booked three weeks ago for tomorrow 09:00-11:00, with T-1.
    let booked = create(order(Some((at(tomorrow, 9), 2)), "黄梅")).await;
    s.assign(&booked, "T-1").await;
    // Running from the evening before into tomorrow morning.
    let overnight = create(order(Some((at(tomorrow, -2), 10)), "徐刚")).await;
    // Waiting for a technician, with no time yet; and one for the day after.
    let waiting = create(order(None, "马丽")).await;
    let later = create(order(
        Some((at(tomorrow + chrono::Duration::days(1), 9), 2)),
        "彭波",
    ))
    .await;
    s.add_newer_orders(3_000).await;

    let (st, board) = s
        .get(&format!("/api/board?day={tomorrow}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{board}");
    assert_eq!(board["day"], tomorrow.to_string());
    let ids: Vec<&str> = board["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    // The day's orders by their windows, then those waiting: the order of
    // the day after waits too (open), and is listed once.
    assert_eq!(ids[..2], [overnight.as_str(), booked.as_str()], "{board}");
    let mut waiting_ids = ids[2..].to_vec();
    waiting_ids.sort();
    let mut want = vec![waiting.as_str(), later.as_str()];
    want.sort();
    assert_eq!(waiting_ids, want, "{board}");
    assert_eq!(board["assignments"][1]["technician_name"], "Tech T-1");
    assert_eq!(board["assignments"][1]["customer"]["phone"], "138****8001");
    assert_eq!(board["visits"], json!([]));

    let (st, refused) = s.get("/api/board?day=2026-13-01", &s.dispatcher).await;
    assert_eq!(st, 400, "{refused}");
    assert_eq!(refused["error"]["field"], "day", "{refused}");
}

async fn technicians_last_positions_are_their_phones_newest_fixes(b: Backend) {
    let s = Srv::start(b).await;
    demo::load(&s.state).await.unwrap();
    let (st, positions) = s.get("/api/positions", &s.dispatcher).await;
    assert_eq!(st, 200, "{positions}");
    let by_id = |id: &str| {
        positions
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["technician_id"] == id)
            .cloned()
    };
    // 王磊's phone recorded the demo's visits around Jing'an (WGS-84).
    let wang = by_id("T-wang").expect("王磊 has a position");
    assert_eq!(wang["name"], "王磊");
    let (lat, lon) = (wang["lat"].as_f64().unwrap(), wang["lon"].as_f64().unwrap());
    assert!(
        (31.2..31.3).contains(&lat) && (121.4..121.5).contains(&lon),
        "{wang}"
    );
    // 孙浩's phone has recorded nothing.
    assert!(by_id("T-sun").is_none(), "{positions}");
}

async fn a_technicians_position_moves_only_to_a_newer_fix_and_ages_out(b: Backend) {
    use doorstep_core::location::{GeoFix, GeoPoint};
    use doorstep_server::store::positions;
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    let now = chrono::Utc::now().timestamp_millis();
    let fix = |lat: f64| GeoFix {
        point: GeoPoint { lat, lon: 121.47 },
        accuracy_m: 12.0,
    };
    let day = 86_400_000;
    // Facts arrive out of order (a second phone, a late sync): the newest
    // recorded fix stands; one that is no fix at all is never kept.
    let steps = [
        (now - 3 * day, fix(31.10), 31.10),
        (now - 60_000, fix(31.20), 31.20),
        (now - 120_000, fix(31.30), 31.20),
        (now, fix(f64::INFINITY), 31.20),
        (now - 1_000, fix(31.25), 31.25),
    ];
    for (i, (at, f, want)) in steps.into_iter().enumerate() {
        let kept = s
            .state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    positions::record_fix(tx, "T-1", at, &f).await?;
                    positions::last_positions(tx, now - 2 * day).await
                })
            })
            .await
            .unwrap();
        if i == 0 {
            // Three days old: no last known position.
            assert!(kept.is_empty(), "{kept:?}");
        } else {
            assert_eq!(kept["T-1"].lat, want, "step {i}");
        }
    }
    let (st, shown) = s.get("/api/positions", &s.dispatcher).await;
    assert_eq!(st, 200, "{shown}");
    assert_eq!(shown[0]["lat"], 31.25, "{shown}");
    assert_eq!(shown[0]["name"], "Tech T-1", "{shown}");
}

async fn the_map_is_told_the_configured_tile_source(b: Backend) {
    let s = Srv::start_with(
        b,
        Config {
            map_tiles: Some(
                "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}".into(),
            ),
            map_tiles_system: "gcj02".into(),
            map_tiles_subdomains: "1234".into(),
            ..Config::default()
        },
    )
    .await;
    let (st, map) = s.get("/api/map", &s.dispatcher).await;
    assert_eq!(st, 200, "{map}");
    assert_eq!(map["system"], "gcj02");
    assert_eq!(map["subdomains"], "1234");
    // The console page may load images from the tile host, and only there.
    let page = s.http.get(format!("{}/", s.base)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' data: blob: https://*.is.autonavi.com;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
}

/// Opens a live stream on a connection of its own; returns the response.
async fn open_stream(s: &Srv, token: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
        .get(format!("{}/api/live", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Reads a stream until one whole event (up to a blank line) has arrived.
async fn next_event(res: &mut reqwest::Response, buffer: &mut String) -> String {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event = buffer[..end].to_string();
            buffer.drain(..end + 2);
            if !event.lines().all(|l| l.starts_with(':')) {
                return event;
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn live_streams_are_counted_per_user_and_not_against_the_connection_cap(b: Backend) {
    let s = Srv::start_with(
        b,
        Config {
            // The harness's own client may keep two idle connections.
            max_connections: 3,
            ..Config::default()
        },
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..STREAMS_PER_USER {
        let mut res = open_stream(&s, &s.dispatcher).await;
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut buffer = String::new();
        assert!(next_event(&mut res, &mut buffer)
            .await
            .contains("event: hello"));
        held.push(res);
    }
    // Four streams on a server capped at three connections: short requests
    // are still served.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let me = fresh
        .get(format!("{}/api/me", s.base))
        .bearer_auth(&s.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    drop((fresh, me));
    // (Let that short request's connection close before the next one.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A fifth stream of the same user is refused, with when to try again.
    let refused = open_stream(&s, &s.dispatcher).await;
    assert_eq!(refused.status().as_u16(), 429, "{:?}", refused.headers());
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");
    // Another user still gets one; a closed stream frees its place.
    let admin = open_stream(&s, &s.admin).await;
    assert_eq!(admin.status().as_u16(), 200);
    // (A stream whose client left is noticed at its next keep-alive write.)
    drop(held.pop());
    let mut status = 0;
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        status = open_stream(&s, &s.dispatcher).await.status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "a closed stream frees its place");
}

async fn a_change_reaches_an_open_live_stream(b: Backend) {
    let s = Srv::start(b).await;
    let a = s.assignment("appliance_repair", None).await;
    let mut res = open_stream(&s, &s.dispatcher).await;
    let mut buffer = String::new();
    let hello = next_event(&mut res, &mut buffer).await;
    assert!(
        hello.contains("event: hello") && hello.contains("\"unassigned\":1"),
        "{hello}"
    );
    let first_id = hello
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_string();
    let id = a["id"].as_str().unwrap();
    let (st, body) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"notes": "call before coming"})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let change = next_event(&mut res, &mut buffer).await;
    assert!(change.contains("event: change"), "{change}");
    assert!(
        !change.contains(&format!("id: {first_id}\n")),
        "a new id: {change}"
    );
    // A client reconnecting with an old id hears at once that it missed a change.
    let resumed = reqwest::Client::new()
        .get(format!("{}/api/live", s.base))
        .bearer_auth(&s.dispatcher)
        .header("last-event-id", first_id)
        .send()
        .await
        .unwrap();
    let mut resumed = resumed;
    let mut buffer = String::new();
    let first = next_event(&mut resumed, &mut buffer).await;
    assert!(first.contains("event: change"), "{first}");
}

async fn a_live_stream_ends_at_shutdown_instead_of_holding_it_up(b: Backend) {
    let mut s = Srv::start(b).await;
    let mut res = open_stream(&s, &s.dispatcher).await;
    let mut buffer = String::new();
    let hello = next_event(&mut res, &mut buffer).await;
    assert!(hello.contains("event: hello"), "{hello}");
    // A grace period far longer than the wait below: only a stream that
    // ends by itself lets the server stop in time.
    let cut = tokio::time::timeout(
        Duration::from_secs(30),
        s.shut_down(Duration::from_secs(120)),
    )
    .await
    .expect("the shutdown did not wait out its grace period for the stream");
    assert_eq!(cut, 0, "the stream was cut instead of ending");
    // The console sees the answer complete (and reconnects), not an error.
    stream_end(&mut res).await;
}

/// Reads a stream to its end (keep-alive comments only on the way).
async fn stream_end(res: &mut reqwest::Response) {
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("the stream's end within 10 s");
        match chunk {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    text.lines().all(|l| l.is_empty() || l.starts_with(':')),
                    "{text}"
                );
            }
            Ok(None) => return,
            Err(e) => panic!("the stream broke off instead of ending: {e}"),
        }
    }
}

async fn a_live_stream_ends_with_its_session(b: Backend) {
    let s = Srv::start(b).await;
    // Two sessions of the same dispatcher (two browsers).
    let mine = s.login("desk").await;
    let mut res = open_stream(&s, &mine).await;
    let mut buffer = String::new();
    let hello = next_event(&mut res, &mut buffer).await;
    assert!(hello.contains("event: hello"), "{hello}");
    // Another session of the same user keeps its stream.
    let mut other = open_stream(&s, &s.dispatcher).await;
    let mut other_buffer = String::new();
    next_event(&mut other, &mut other_buffer).await;
    let (st, _) = s.post("/api/logout", &mine, json!({})).await;
    assert_eq!(st, 204);
    stream_end(&mut res).await;
    // The other stream still hears changes.
    s.assignment("appliance_repair", None).await;
    let change = next_event(&mut other, &mut other_buffer).await;
    assert!(change.contains("event: change"), "{change}");
}

#[tokio::test]
async fn the_live_change_mark_is_read_from_indexes_not_whole_tables() {
    // SQLite's plan is deterministic; PostgreSQL's depends on table sizes
    // (and the same indexes exist there: schema_parity.rs).
    let s = Srv::start(Backend::Sqlite).await;
    let plan = s.sqlite_plan(CHANGE_MARK_SQL, vec!["open".into()]).await;
    assert!(plan.len() >= 4, "{plan:?}");
    // Every read of a table goes through an index ("SCAN CONSTANT ROW" is
    // the outer SELECT, which reads no table).
    let table_reads: Vec<_> = plan
        .iter()
        .filter(|step| step.starts_with("SCAN ") || step.starts_with("SEARCH "))
        .filter(|step| *step != "SCAN CONSTANT ROW" && !step.contains(" INDEX "))
        .collect();
    assert!(
        table_reads.is_empty(),
        "reads without an index: {table_reads:?} in {plan:?}"
    );
}
