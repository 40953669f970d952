//! One schema on two backends: the SQLite and PostgreSQL migrations are
//! written separately (each in its own dialect), so this test applies both
//! the way the server does (`Database::open`) and compares what they built —
//! tables, columns (type normalised to integer/text, nullability, default),
//! primary keys, indexes (columns, uniqueness, and the names of the ones
//! created explicitly) and foreign keys. Any drift fails it.

use crate::harness::{database_url, require_postgres, Backend};
use doorstep_server::store::Database;
use std::collections::{BTreeMap, BTreeSet};

/// A column as both backends can describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    /// `integer` or `text` (anything else is kept as written, and differs).
    kind: String,
    not_null: bool,
    default: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// (columns, unique) of every index other than the primary key's.
    indexes: BTreeSet<(Vec<String>, bool)>,
    /// Names of the indexes made by `CREATE INDEX` (not by a constraint).
    named_indexes: BTreeSet<String>,
    /// (column, referenced table, referenced column).
    foreign_keys: BTreeSet<(String, String, String)>,
}

type Schema = BTreeMap<String, Table>;

fn kind(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int" | "int8" | "smallint" => "integer".into(),
        "text" | "character varying" => "text".into(),
        other => other.to_string(),
    }
}

/// `'1'::bigint` and `1` are the same default.
fn default_value(raw: Option<String>) -> Option<String> {
    raw.map(|d| {
        let d = d.split("::").next().unwrap_or(&d).trim();
        d.trim_matches(|c| c == '\'' || c == '(' || c == ')')
            .to_string()
    })
}

fn sqlite_schema(path: &str) -> Schema {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut schema = Schema::new();
    for t in tables {
        let mut table = Table::default();
        let mut pk: Vec<(i64, String)> = vec![];
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        let cols = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("name")?,
                    r.get::<_, String>("type")?,
                    r.get::<_, i64>("notnull")?,
                    r.get::<_, Option<String>>("dflt_value")?,
                    r.get::<_, i64>("pk")?,
                ))
            })
            .unwrap();
        for c in cols {
            let (name, ty, not_null, default, pk_pos) = c.unwrap();
            if pk_pos > 0 {
                pk.push((pk_pos, name.clone()));
            }
            table.columns.insert(
                name,
                Column {
                    kind: kind(&ty),
                    // A primary key column is NOT NULL on PostgreSQL; SQLite
                    // only enforces it for INTEGER keys, but the server never
                    // writes a NULL key.
                    not_null: not_null != 0 || pk_pos > 0,
                    default: default_value(default),
                },
            );
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        let mut stmt = conn.prepare(&format!("PRAGMA index_list({t})")).unwrap();
        let indexes: Vec<(String, bool, String)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("name")?,
                    r.get::<_, i64>("unique")? != 0,
                    r.get::<_, String>("origin")?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (name, unique, origin) in indexes {
            if origin == "pk" {
                continue;
            }
            let mut stmt = conn.prepare(&format!("PRAGMA index_info({name})")).unwrap();
            let mut cols: Vec<(i64, String)> = stmt
                .query_map([], |r| Ok((r.get("seqno")?, r.get("name")?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            cols.sort();
            table
                .indexes
                .insert((cols.into_iter().map(|(_, n)| n).collect(), unique));
            if origin == "c" {
                table.named_indexes.insert(name);
            }
        }
        let mut stmt = conn
            .prepare(&format!("PRAGMA foreign_key_list({t})"))
            .unwrap();
        let fks = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("from")?,
                    r.get::<_, String>("table")?,
                    r.get::<_, String>("to")?,
                ))
            })
            .unwrap();
        for fk in fks {
            table.foreign_keys.insert(fk.unwrap());
        }
        schema.insert(t, table);
    }
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(conn);
    let mut schema = Schema::new();
    for r in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_migrations'",
            &[],
        )
        .await
        .unwrap()
    {
        let table: String = r.get(0);
        schema.entry(table).or_default().columns.insert(
            r.get(1),
            Column {
                kind: kind(r.get(2)),
                not_null: r.get::<_, String>(3) == "NO",
                default: default_value(r.get(4)),
            },
        );
    }
    for r in client
        .query(
            "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary,
                ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord),
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
             FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND t.relname <> 'schema_migrations'",
            &[],
        )
        .await
        .unwrap()
    {
        let table = schema.entry(r.get::<_, String>(0)).or_default();
        let columns: Vec<String> = r.get(4);
        if r.get::<_, bool>(3) {
            table.primary_key = columns;
            continue;
        }
        table.indexes.insert((columns, r.get(2)));
        if !r.get::<_, bool>(5) {
            table.named_indexes.insert(r.get(1));
        }
    }
    for r in client
        .query(
            "SELECT t.relname::text, a.attname::text, rt.relname::text, ra.attname::text
             FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_class rt ON rt.oid = c.confrelid
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
             JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
             WHERE c.contype = 'f' AND n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap()
    {
        schema
            .entry(r.get::<_, String>(0))
            .or_default()
            .foreign_keys
            .insert((r.get(1), r.get(2), r.get(3)));
    }
    schema
}

/// The differences, one line each (empty when the schemas agree).
fn drift(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = vec![];
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        match (sqlite.get(name), postgres.get(name)) {
            (Some(s), Some(p)) => {
                let cols: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
                for c in cols {
                    let (sc, pc) = (s.columns.get(c), p.columns.get(c));
                    if sc != pc {
                        out.push(format!("{name}.{c}: SQLite {sc:?}, PostgreSQL {pc:?}"));
                    }
                }
                if s.primary_key != p.primary_key {
                    out.push(format!(
                        "{name} primary key: SQLite {:?}, PostgreSQL {:?}",
                        s.primary_key, p.primary_key
                    ));
                }
                if s.indexes != p.indexes {
                    out.push(format!(
                        "{name} indexes: SQLite {:?}, PostgreSQL {:?}",
                        s.indexes, p.indexes
                    ));
                }
                if s.named_indexes != p.named_indexes {
                    out.push(format!(
                        "{name} index names: SQLite {:?}, PostgreSQL {:?}",
                        s.named_indexes, p.named_indexes
                    ));
                }
                if s.foreign_keys != p.foreign_keys {
                    out.push(format!(
                        "{name} foreign keys: SQLite {:?}, PostgreSQL {:?}",
                        s.foreign_keys, p.foreign_keys
                    ));
                }
            }
            (s, p) => out.push(format!(
                "table {name}: on SQLite {}, on PostgreSQL {}",
                if s.is_some() { "present" } else { "missing" },
                if p.is_some() { "present" } else { "missing" },
            )),
        }
    }
    out
}

fn migration_files(backend: &str) -> Vec<String> {
    let dir = crate::harness::crate_dir().join("migrations").join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    assert_eq!(migration_files("sqlite"), migration_files("postgres"));
}

#[test]
fn the_comparison_sees_a_drift() {
    let mut a = Schema::new();
    a.entry("t".into()).or_default().columns.insert(
        "c".into(),
        Column {
            kind: kind("INTEGER"),
            not_null: true,
            default: default_value(Some("'0'::bigint".into())),
        },
    );
    let mut b = Schema::new();
    b.entry("t".into()).or_default().columns.insert(
        "c".into(),
        Column {
            kind: kind("bigint"),
            not_null: true,
            default: Some("0".into()),
        },
    );
    assert!(drift(&a, &b).is_empty(), "{:?}", drift(&a, &b));
    b.get_mut("t").unwrap().columns.get_mut("c").unwrap().kind = kind("text");
    assert_eq!(drift(&a, &b).len(), 1);
    b.get_mut("t")
        .unwrap()
        .indexes
        .insert((vec!["c".into()], false));
    assert_eq!(drift(&a, &b).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test-all runs these with DOORSTEP_TEST_PG_URL and -- --ignored"]
async fn sqlite_and_postgresql_migrations_build_the_same_schema() {
    require_postgres();
    let (sqlite_url, dir) = database_url(Backend::Sqlite).await;
    Database::open(&sqlite_url).await.expect("migrate SQLite");
    let (pg_url, _) = database_url(Backend::Postgres).await;
    Database::open(&pg_url).await.expect("migrate PostgreSQL");
    let sqlite = sqlite_schema(&sqlite_url);
    let postgres = postgres_schema(&pg_url).await;
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(
        sqlite.len() >= 14,
        "tables found on SQLite: {:?}",
        sqlite.keys()
    );
    let differences = drift(&sqlite, &postgres);
    assert!(
        differences.is_empty(),
        "the SQLite and PostgreSQL migrations differ:\n{}",
        differences.join("\n")
    );
}
