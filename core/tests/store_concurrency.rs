//! Several threads on one store: the UI reads views while the sync client
//! drains and acknowledges the outbox and the technician applies commands.

mod common;

use chrono::Duration;
use common::*;
use doorstep_core::AssignmentId;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn concurrent_writer_reader_and_drainer_lose_and_duplicate_no_outbox_entry() {
    let dir = TempDir::new("concurrency");
    let store = Arc::new(open(&dir.db()));
    let done = Arc::new(AtomicBool::new(false));
    const VISITS: usize = 12;

    let writer = {
        let store = store.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut written = vec![];
            let ids: Vec<String> = (0..VISITS).map(|i| format!("A-{i}")).collect();
            for (i, id) in ids.iter().enumerate() {
                let start = day() + Duration::minutes(10 * i as i64);
                let ev = store
                    .receive_assignment(&issued(id, start), start - Duration::hours(20))
                    .unwrap();
                written.extend(ev.iter().map(|e| e.id));
            }
            // Interleave the visits: one command each, round robin.
            loop {
                let mut progressed = false;
                for id in &ids {
                    let aid = AssignmentId::new(id.as_str()).unwrap();
                    let s = store.state(&aid).unwrap();
                    if let Some((cmd, at, fix)) = next_command(&s) {
                        let ev = store.apply_command(&aid, &cmd, at, fix).unwrap();
                        written.extend(ev.iter().map(|e| e.id));
                        progressed = true;
                    }
                }
                if !progressed {
                    break;
                }
            }
            done.store(true, Ordering::SeqCst);
            written
        })
    };

    let reader = {
        let store = store.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut views = 0;
            while !done.load(Ordering::SeqCst) {
                for i in 0..VISITS {
                    let aid = AssignmentId::new(format!("A-{i}")).unwrap();
                    match store.view(&aid, day()) {
                        Ok(_) => views += 1,
                        Err(doorstep_core::store::StoreError::UnknownAssignment(_)) => {}
                        Err(e) => panic!("view failed: {e}"),
                    }
                }
                let _ = store
                    .visits_on(
                        day().date_naive(),
                        chrono::FixedOffset::east_opt(0).unwrap(),
                    )
                    .unwrap();
            }
            views
        })
    };

    // The sync client: upload a batch, acknowledge it, repeat.
    let drainer = {
        let store = store.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut uploaded = vec![];
            let mut last_seq = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let batch = store.pending_outbox(7).unwrap();
                if batch.is_empty() && finished {
                    break;
                }
                for entry in &batch {
                    assert!(
                        entry.seq > last_seq,
                        "sequence goes up: {} after {last_seq}",
                        entry.seq
                    );
                    last_seq = entry.seq;
                    uploaded.push(entry.event.id);
                }
                if let Some(last) = batch.last() {
                    store.ack_outbox(last.seq, day()).unwrap();
                }
                std::thread::yield_now();
            }
            uploaded
        })
    };

    let written = writer.join().unwrap();
    let views = reader.join().unwrap();
    let uploaded = drainer.join().unwrap();
    assert!(views > 0);
    let unique: HashSet<_> = uploaded.iter().collect();
    assert_eq!(unique.len(), uploaded.len(), "no event uploaded twice");
    assert_eq!(
        uploaded, written,
        "every event uploaded once, in commit order"
    );
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.verify_projections().unwrap().is_empty());
}
