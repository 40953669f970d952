//! The server's own database across versions (SQLite, the default): a
//! database written by an older server upgrades in place and keeps its
//! rows; one written by a newer server, or a file that is no database at
//! all, is refused with a reason and left exactly as it was.

use doorstep_server::http::error::ApiError;
use doorstep_server::store::Database;
use std::path::PathBuf;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "doorstep-schema-{name}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn db(&self) -> String {
        self.0.join("doorstep.db").display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_with_data_upgrades_in_place_and_keeps_it() {
    let dir = Dir::new("v1");
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .unwrap();
        conn.execute(
            "INSERT INTO technicians (id, name, trades, active, created_at)
             VALUES ('T-1', '王伟', '[\"appliance_repair\"]', 1, 1764000000000)",
            [],
        )
        .unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let (name, phone, version) = db
        .tx(|tx| {
            Box::pin(async move {
                let t = tx
                    .query_opt("SELECT name, phone FROM technicians WHERE id = 'T-1'", &[])
                    .await?
                    .expect("the technician survived the upgrade");
                let v = tx.query_opt("PRAGMA user_version", &[]).await?.unwrap();
                Ok::<_, ApiError>((t.text(0), t.opt_text(1), v.int(0)))
            })
        })
        .await
        .unwrap();
    // Upgraded to the latest version: one per migration file.
    let migrations = crate::harness::sqlite_migration_count();
    assert_eq!((name.as_str(), phone, version), ("王伟", None, migrations));
}

/// A SQLite database as a server left it whose migrations ended before the
/// file named `first_missing` (e.g. `"0030"`).
fn database_before(dir: &Dir, first_missing: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
    )
    .unwrap()
    .map(|f| f.unwrap().path())
    .filter(|p| p.file_name().unwrap().to_str().unwrap() < first_missing)
    .collect();
    files.sort();
    for f in &files {
        conn.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    conn.execute_batch(&format!("PRAGMA user_version = {}", files.len()))
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_pushed_before_their_index_can_still_be_uploaded_and_fetched() {
    let dir = Dir::new("photos");
    let digest = "ab".repeat(32);
    {
        let conn = database_before(&dir, "0031");
        conn.execute_batch(
            "INSERT INTO technicians (id, name, trades, active, created_at)
                VALUES ('T-1', '王伟', '[]', 1, 0), ('T-2', '李娜', '[]', 1, 0);
             INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at)
                VALUES ('D-1', 'T-1', 'h1', 'li.na', 0);",
        )
        .unwrap();
        let event = |id: &str, seq: i64, kind: &str, body: serde_json::Value| {
            conn.execute(
                "INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id,
                    kind, hlc_millis, hlc_counter, recorded_at, received_at, body)
                 VALUES (?1, 'D-1', ?2, 'V-1', 'A-1', 'T-1', ?3, 0, 0, 0, 0, ?4)",
                rusqlite::params![id, seq, kind, body.to_string()],
            )
            .unwrap();
        };
        event(
            "E-1",
            1,
            "photo_taken",
            serde_json::json!({"type": "photo_taken", "moment": "before", "digest": digest,
                               "size_bytes": 183_204, "width": 1600, "height": 1200}),
        );
        // More than one batch of the copying.
        for i in 0..600 {
            event(
                &format!("E-P{i:03}"),
                10 + i,
                "photo_taken",
                serde_json::json!({"type": "photo_taken", "moment": "after", "digest": format!("{i:064x}"),
                                   "size_bytes": 1000 + i, "width": 800, "height": 600}),
            );
        }
        event(
            "E-2",
            2,
            "note_added",
            serde_json::json!({"type": "note_added", "text": format!("\"digest\":\"{}\"", "cd".repeat(32))}),
        );
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let other = "cd".repeat(32);
    let found = db
        .read(move |tx| {
            Box::pin(async move {
                use doorstep_server::store::blobs;
                Ok::<_, doorstep_server::failure::Failure>((
                    blobs::photo_size_recorded_by(tx, "D-1", &digest).await?,
                    blobs::photo_size_recorded_by(tx, "D-2", &digest).await?,
                    blobs::photo_of_technician(tx, "T-1", &digest).await?,
                    blobs::photo_of_technician(tx, "T-2", &digest).await?,
                    blobs::photo_size_recorded_by(tx, "D-1", &other).await?,
                    tx.query_opt("SELECT COUNT(*) AS n FROM photo_events", &[])
                        .await?
                        .unwrap()
                        .int("n"),
                    tx.query_opt("SELECT COUNT(*) AS n FROM pending_fills", &[])
                        .await?
                        .unwrap()
                        .int("n"),
                ))
            })
        })
        .await
        .unwrap();
    // The photo's fact is found for its own device and technician only; a
    // digest quoted in a note is no photo.
    // Every photo fact is copied, once, and the work is done.
    assert_eq!(found, (Some(183_204), None, true, false, None, 601, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_recorded_before_they_were_kept_are_on_the_map_after_the_upgrade() {
    let dir = Dir::new("positions");
    let now = chrono::Utc::now().timestamp_millis();
    {
        let conn = database_before(&dir, "0033");
        conn.execute_batch(
            "INSERT INTO technicians (id, name, trades, active, created_at)
                VALUES ('T-1', '王伟', '[]', 1, 0), ('T-2', '李娜', '[]', 1, 0), ('T-3', '赵敏', '[]', 1, 0);
             INSERT INTO devices (id, technician_id, token_hash, enrolled_by, enrolled_at)
                VALUES ('D-1', 'T-1', 'h1', 'li.na', 0), ('D-2', 'T-2', 'h2', 'li.na', 0),
                       ('D-3', 'T-3', 'h3', 'li.na', 0);",
        )
        .unwrap();
        let mut seq = 0;
        let mut fact = |device: &str, technician: &str, at: i64, location: serde_json::Value| {
            seq += 1;
            conn.execute(
                "INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id,
                    kind, hlc_millis, hlc_counter, recorded_at, received_at, body)
                 VALUES (?1, ?2, ?3, 'V-1', 'A-1', ?4, 'note_added', 0, 0, ?5, 0, ?6)",
                rusqlite::params![
                    format!("E-{seq}"),
                    device,
                    seq,
                    technician,
                    at,
                    serde_json::json!({"type": "note_added", "text": "到达", "location": location})
                        .to_string()
                ],
            )
            .unwrap();
        };
        let at = |lat: f64| serde_json::json!({"lat": lat, "lon": 121.47, "accuracy_m": 10.0});
        // T-1: an hour ago, then ten minutes ago, then a fact with no fix.
        fact("D-1", "T-1", now - 3_600_000, at(31.20));
        fact("D-1", "T-1", now - 600_000, at(31.22));
        fact("D-1", "T-1", now - 60_000, serde_json::Value::Null);
        // T-2: only three days ago. T-3: only a fix out of range.
        fact("D-2", "T-2", now - 3 * 86_400_000, at(31.30));
        fact("D-3", "T-3", now - 60_000, at(95.0));
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let kept = db
        .read(move |tx| {
            Box::pin(async move {
                doorstep_server::store::positions::last_positions(tx, now - 2 * 86_400_000).await
            })
        })
        .await
        .unwrap();
    assert_eq!(kept.keys().collect::<Vec<_>>(), ["T-1"], "{kept:?}");
    assert_eq!(kept["T-1"].lat, 31.22);
    assert_eq!(kept["T-1"].recorded_at, now - 600_000);
}

/// The ids of the orders found.
fn ids(found: Vec<doorstep_server::model::AssignmentView>) -> Vec<String> {
    found
        .into_iter()
        .map(|v| v.assignment.id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_taken_before_the_look_up_rows_are_found_after_the_upgrade() {
    let dir = Dir::new("lookup");
    {
        // A database as the server before migration 0030 left it, with
        // 1 201 orders (more than one batch of the filling).
        let conn = database_before(&dir, "0030");
        let insert = |id: &str, body: serde_json::Value, received_at: i64| {
            conn.execute(
                "INSERT INTO assignments (id, version, trade, status, priority, classification,
                    received_at, window_confirmed, body, updated_at)
                 VALUES (?1, 1, 'appliance_repair', 'open', 'normal', 'general', ?2, 0, ?3, ?2)",
                rusqlite::params![id, received_at, body.to_string()],
            )
            .unwrap();
        };
        insert(
            "A-20260101-0001",
            serde_json::json!({"id": "A-20260101-0001", "version": 1, "trade": "appliance_repair",
                "customer": {"name": "黄梅", "phone": "+86 138 0013 8001", "address": "武定路 12 号"}}),
            1_767_225_600_000,
        );
        for i in 0..1200 {
            let id = format!("F-{i}");
            insert(
                &id,
                serde_json::json!({"id": id, "version": 1, "trade": "appliance_repair", "customer": {}}),
                1_767_225_600_001 + i,
            );
        }
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let (by_phone, by_address, filled) = db
        .read(|tx| {
            Box::pin(async move {
                use doorstep_server::store::assignments;
                let by_phone = assignments::of_phone(tx, "13800138001", 10).await?;
                let by_address = assignments::search(tx, "武定路", 10).await?;
                let filled = tx
                    .query_opt("SELECT COUNT(*) AS n FROM assignment_lookup", &[])
                    .await?
                    .unwrap()
                    .int("n");
                Ok::<_, doorstep_server::failure::Failure>((by_phone, by_address, filled))
            })
        })
        .await
        .unwrap();
    assert_eq!(ids(by_phone), ["A-20260101-0001"]);
    assert_eq!(ids(by_address), ["A-20260101-0001"]);
    assert_eq!(filled, 1201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_taken_before_the_search_pieces_are_found_after_the_upgrade() {
    let dir = Dir::new("pieces");
    {
        // A database as the server before migration 0037 left it: 1 201
        // orders with their look-up rows (more than two batches of the
        // filling), the one to find the oldest.
        let conn = database_before(&dir, "0037");
        let insert = |id: &str, text: &str, phone: Option<&str>, received_at: i64| {
            conn.execute(
                "INSERT INTO assignments (id, version, trade, status, priority, classification,
                    received_at, window_confirmed, body, updated_at)
                 VALUES (?1, 1, 'appliance_repair', 'done', 'normal', 'general', ?2, 0, ?3, ?2)",
                rusqlite::params![
                    id,
                    received_at,
                    serde_json::json!({"id": id, "version": 1, "trade": "appliance_repair", "customer": {}})
                        .to_string()
                ],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO assignment_lookup (assignment_id, received_at, customer_phone_digits, search_text)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, received_at, phone, text],
            )
            .unwrap();
        };
        insert(
            "A-20260101-0001",
            "a-20260101-0001\u{1f}黄梅\u{1f}武定路 12 号",
            Some("13800138001"),
            1_767_225_600_000,
        );
        for i in 0..1200 {
            let id = format!("F-{i}");
            insert(
                &id,
                &format!("{}\u{1f}\u{1f}", id.to_lowercase()),
                Some("13900000000"),
                1_767_225_600_001 + i,
            );
        }
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let (by_name, by_phone, pieces, pending) = db
        .read(|tx| {
            Box::pin(async move {
                use doorstep_server::store::assignments;
                let by_name = assignments::search(tx, "黄梅", 10).await?;
                let by_phone = assignments::search(tx, "8001", 10).await?;
                let pieces = tx
                    .query_opt(
                        "SELECT COUNT(DISTINCT assignment_id) AS n FROM assignment_search_grams",
                        &[],
                    )
                    .await?
                    .unwrap()
                    .int("n");
                let pending = tx
                    .query_opt("SELECT COUNT(*) AS n FROM pending_fills", &[])
                    .await?
                    .unwrap()
                    .int("n");
                Ok::<_, doorstep_server::failure::Failure>((by_name, by_phone, pieces, pending))
            })
        })
        .await
        .unwrap();
    assert_eq!(ids(by_name), ["A-20260101-0001"]);
    assert_eq!(ids(by_phone), ["A-20260101-0001"]);
    assert_eq!(pieces, 1201, "every order has its pieces");
    assert_eq!(pending, 0, "the fill ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_finished_before_the_upgrade_are_due_for_retention_after_it() {
    let dir = Dir::new("finished");
    let day = 86_400_000_i64;
    let now = doorstep_server::time::now_ms();
    {
        // A database as the server before migration 0039 left it: when an
        // order finished was worked out on each retention run.
        let conn = database_before(&dir, "0039");
        let order = |id: &str, status: &str, updated_at: i64| {
            conn.execute(
                "INSERT INTO assignments (id, version, trade, status, priority, classification,
                    received_at, window_confirmed, body, updated_at)
                 VALUES (?1, 1, 'appliance_repair', ?2, 'normal', 'general', ?3, 0, ?4, ?3)",
                rusqlite::params![
                    id,
                    status,
                    updated_at,
                    serde_json::json!({"id": id, "version": 1, "trade": "appliance_repair", "customer": {}})
                        .to_string()
                ],
            )
            .unwrap();
        };
        // Its visit closed 300 days ago; the order changed yesterday.
        order("A-VISIT-CLOSED-LONG-AGO", "done", now - day);
        conn.execute(
            "INSERT INTO visits (visit_id, assignment_id, technician_id, device_id, trade, stage,
                trip, closed_at, signoff, state, event_count, updated_at)
             VALUES ('V-1', 'A-VISIT-CLOSED-LONG-AGO', 'T-1', 'D-1', 'appliance_repair', 'closed',
                1, ?1, 'verified', '{}', 30, ?2)",
            rusqlite::params![now - 300 * day, now - day],
        )
        .unwrap();
        // Cancelled 200 days ago, never visited.
        order("A-CANCELLED-LONG-AGO", "cancelled", now - 200 * day);
        // Still open, untouched for 400 days: not finished.
        order("A-OPEN", "open", now - 400 * day);
        // Cancelled ten days ago.
        order("A-CANCELLED-LATELY", "cancelled", now - 10 * day);
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let due = db
        .read(move |tx| {
            Box::pin(async move {
                doorstep_server::store::personal_data::due_for_retention(tx, now - 180 * day, 10)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(due, ["A-VISIT-CLOSED-LONG-AGO", "A-CANCELLED-LONG-AGO"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consultations_taken_before_the_upgrade_are_found_by_the_callers_phone_after_it() {
    let dir = Dir::new("intakes");
    {
        // A database as the server before migration 0040 left it: 501
        // consultations (more than a batch of the filling), the customer's
        // the last by id, and one intake that became an order.
        let conn = database_before(&dir, "0040");
        let intake = |id: &str, phone: &str, order: Option<&str>| {
            conn.execute(
                "INSERT INTO intakes (id, classification, received_at, caller, content, assignment_id, recorded_by)
                 VALUES (?1, 'consultation', 1767225600000, ?2, '保修政策', ?3, 'desk')",
                rusqlite::params![
                    id,
                    serde_json::json!({"name": "黄梅", "phone": phone}).to_string(),
                    order
                ],
            )
            .unwrap();
        };
        for i in 0..500 {
            intake(&format!("I-{i:04}"), "139 0000 0000", None);
        }
        intake("I-9999", "+86 138 0013 8001", None);
        intake("I-ORDER", "138 0013 8001", Some("A-20260101-0001"));
    }
    let db = Database::open(&dir.db())
        .await
        .expect("upgrade to the current schema");
    let (found, pending) = db
        .read(|tx| {
            Box::pin(async move {
                let found =
                    doorstep_server::store::personal_data::unlinked_intakes_of_phone_digits(
                        tx,
                        ["13800138001", "008613800138001"],
                    )
                    .await?;
                let pending = tx
                    .query_opt("SELECT COUNT(*) AS n FROM pending_fills", &[])
                    .await?
                    .unwrap()
                    .int("n");
                Ok::<_, doorstep_server::failure::Failure>((found, pending))
            })
        })
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["I-9999"], "the consultation, not the order's intake");
    assert_eq!(pending, 0, "the fill ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_server_is_refused_and_left_untouched() {
    let dir = Dir::new("newer");
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch("CREATE TABLE from_the_future (x); PRAGMA user_version = 99")
            .unwrap();
    }
    let before = std::fs::read(dir.db()).unwrap();
    let e = Database::open(&dir.db()).await.err().expect("refused");
    let text = e.to_string();
    assert!(text.contains("schema version 99"), "{text}");
    assert!(text.contains("newer doorstep-server"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(std::fs::read(dir.db()).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let dir = Dir::new("junk");
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.db(), &junk).unwrap();
    let e = Database::open(&dir.db()).await.err().expect("refused");
    let text = e.to_string();
    assert!(text.contains("is not a SQLite database"), "{text}");
    assert!(text.contains("left untouched"), "{text}");
    assert_eq!(std::fs::read(dir.db()).unwrap(), junk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-all runs these with DOORSTEP_TEST_PG_URL and -- --ignored"]
async fn a_postgres_database_from_a_newer_server_is_refused_and_left_untouched() {
    crate::harness::require_postgres();
    let base = std::env::var("DOORSTEP_TEST_PG_URL").unwrap();
    let name = format!("t_newer_{}", uuid::Uuid::now_v7().simple());
    let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (99);",
        )
        .await
        .unwrap();
    let e = Database::open(&url).await.err().expect("refused");
    assert!(e.to_string().contains("schema version 99"), "{e}");
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing but schema_migrations was created");
}
