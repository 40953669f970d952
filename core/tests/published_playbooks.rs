//! A company's own playbooks on the phone: a published version is kept
//! only when the server's pinned key signed it; a new visit starts with its
//! trade's newest version and keeps it whatever is published after, also
//! across a restart of the app.

mod common;

use common::*;
use doorstep_core::playbook::{Playbook, PlaybookSigningKey, PublishedPlaybook};
use doorstep_core::store::Store;
use doorstep_core::workflow::EventKind;
use doorstep_core::AssignmentId;

fn aid(s: &str) -> AssignmentId {
    AssignmentId::new(s).unwrap()
}

/// The shipped appliance playbook as the company's `version`.
fn appliance(version: i64) -> Playbook {
    let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    pb.version = version;
    pb.conduct_reminder.en = format!("company version {version}");
    pb
}

fn version_received(store: &doorstep_core::store::Store, id: &str) -> Option<i64> {
    store
        .history(aid(id))
        .unwrap()
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::AssignmentReceived {
                playbook_version, ..
            } => Some(*playbook_version),
            _ => None,
        })
        .flatten()
}

/// A store in a fresh directory that pinned a new server key: (its
/// directory, the store, the key).
fn pinned_store(name: &str) -> (TempDir, Store, PlaybookSigningKey) {
    let dir = TempDir::new(name);
    let key = PlaybookSigningKey::generate();
    let store = open(&dir.db());
    store
        .trust_playbook_key(&key.public_key_hex(), day())
        .unwrap();
    (dir, store, key)
}

#[test]
fn a_visit_keeps_the_playbook_version_it_started_with() {
    let (dir, store, key) = pinned_store("playbook-versions");

    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    assert_eq!(version_received(&store, "A-1"), Some(1), "the shipped one");

    let refused = store
        .keep_published_playbooks(&[key.sign(&appliance(2))], None, day())
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    store
        .receive_assignment(&issued("A-2", day()), day())
        .unwrap();
    store
        .keep_published_playbooks(&[key.sign(&appliance(3))], None, day())
        .unwrap();
    store
        .receive_assignment(&issued("A-3", day()), day())
        .unwrap();

    assert_eq!(store.state(aid("A-1")).unwrap().playbook_version, Some(1));
    assert_eq!(store.state(aid("A-2")).unwrap().playbook_version, Some(2));
    assert_eq!(store.state(aid("A-3")).unwrap().playbook_version, Some(3));
    assert_eq!(
        store.published_playbook_versions().unwrap(),
        [("appliance_repair".to_string(), 3)].into()
    );

    // After a restart (a fresh catalog), each visit still finds its own.
    drop(store);
    let store = open(&dir.db());
    for id in ["A-1", "A-2", "A-3"] {
        store.view(aid(id), day()).expect("its version is held");
    }
    store
        .receive_assignment(&issued("A-4", day()), day())
        .unwrap();
    assert_eq!(store.state(aid("A-4")).unwrap().playbook_version, Some(3));
    assert_eq!(version_received(&store, "A-2"), Some(2));

    // The screens and forms are built from the visit's own version.
    let forms_of = |id: &str| store.playbook_of(aid(id)).unwrap();
    assert_eq!(forms_of("A-2").conduct_reminder.en, "company version 2");
    assert_eq!(forms_of("A-4").conduct_reminder.en, "company version 3");
    assert!(matches!(forms_of("A-1"), std::borrow::Cow::Borrowed(_)));
    assert_eq!(
        *forms_of("A-1"),
        *Playbook::shipped_ref("appliance_repair").unwrap()
    );
}

#[test]
fn a_playbook_the_pinned_key_did_not_sign_is_not_kept() {
    let (_dir, store, server) = pinned_store("playbook-forged");
    let other = PlaybookSigningKey::generate();
    let mut tampered = server.sign(&appliance(4));
    tampered.body = tampered.body.replace("company version 4", "anything goes");
    let refused = store
        .keep_published_playbooks(
            &[other.sign(&appliance(2)), tampered],
            Some(&other.public_key_hex()),
            day(),
        )
        .unwrap();
    assert_eq!(
        refused
            .iter()
            .map(|r| (r.version, r.problem.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                2,
                "signature: not the server's signature over this playbook"
            ),
            (
                4,
                "signature: not the server's signature over this playbook"
            )
        ]
    );
    assert_eq!(
        store.playbook_key().unwrap(),
        Some(server.public_key_hex()),
        "a key offered later does not replace the pinned one"
    );
    assert!(store.published_playbook_versions().unwrap().is_empty());
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    assert_eq!(store.state(aid("A-1")).unwrap().playbook_version, Some(1));
}

#[test]
fn a_phone_enrolled_before_playbook_keys_pins_the_first_key_offered() {
    let dir = TempDir::new("playbook-pin");
    let server = PlaybookSigningKey::generate();
    let store = open(&dir.db());
    assert_eq!(store.playbook_key().unwrap(), None);
    let published: Vec<PublishedPlaybook> = vec![server.sign(&appliance(2))];
    let refused = store
        .keep_published_playbooks(&published, Some(&server.public_key_hex()), day())
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(store.playbook_key().unwrap(), Some(server.public_key_hex()));
    store
        .receive_assignment(&issued("A-1", day()), day())
        .unwrap();
    assert_eq!(store.state(aid("A-1")).unwrap().playbook_version, Some(2));

    // Without any key, nothing is kept.
    let dir = TempDir::new("playbook-nokey");
    let store = open(&dir.db());
    let refused = store
        .keep_published_playbooks(&published, None, day())
        .unwrap();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].problem.contains("playbook_key"), "{refused:?}");
}

#[test]
fn the_signed_report_names_the_playbook_version_the_visit_was_walked_with() {
    let (_dir, store, key) = pinned_store("playbook-report");
    store
        .keep_published_playbooks(&[key.sign(&appliance(2))], None, day())
        .unwrap();
    run_visit(&store, "A-1", day(), 1000);
    let state = store.state(aid("A-1")).unwrap();
    assert!(state.sign_off.is_some(), "walked to the signature");
    let signed = state.sign_off.as_ref().unwrap();
    let report = doorstep_core::signoff::Report::of(
        &state,
        Some(signed.ratings),
        signed.comment.clone(),
        "",
    );
    assert_eq!((report.format, report.playbook_version), (3, Some(2)));
    doorstep_core::signoff::verify(&state).expect("the signature binds the version");

    // Claiming another version afterwards breaks the signature.
    let mut claimed = state.clone();
    claimed.playbook_version = Some(3);
    assert!(doorstep_core::signoff::verify(&claimed).is_err());
}
