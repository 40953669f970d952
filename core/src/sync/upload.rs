//! The outbox upload: batches sized by bytes, two on their way at once.
//!
//! The next batch goes before the answer to the one before it, so the
//! server parses and checks one while it stores the other, and a slow link
//! carries one while the other is answered. Answers are applied in the order
//! the batches were sent, each with its refusals in one local transaction;
//! an entry leaves the queue only when acknowledged. The last batch goes as
//! an exchange (`/api/sync/exchange`) that brings the first pull page back
//! in the same round trip (a server without the endpoint gets a plain push).
//!
//! A batch that reaches the server before the one ahead of it is stored is
//! answered with a sequence gap (the server waits for its predecessor
//! first, so this is rare): once the batch ahead is acknowledged, it simply
//! goes again. Only a gap in the answer to the first batch in flight means
//! the server lost entries it had acknowledged.

use super::{
    offset_ms, split_exchange, stored_cursor, tell_progress, Exchange, Failure, ProgressFn,
    PulledPage, SyncClient, SyncError, SyncReport, SyncStage,
};
use crate::clock::Clock;
use crate::protocol::{
    ExchangeRequest, ExchangeResponse, PullResponse, PushRequest, PushResponse, SentEvent,
    PROTOCOL_VERSION,
};
use crate::store::{Refusal, Store};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

/// Push batches on their way at once. Two keep the server and the link busy
/// (one stored while the next is parsed or carried); more would only hold
/// more of the outbox in requests that a failure sends again.
const BATCHES_IN_FLIGHT: usize = 2;

/// A batch's request: a plain push, or the last batch's exchange.
enum BatchRequest {
    Push(PushRequest<SentEvent>),
    Exchange(ExchangeRequest<SentEvent>),
}

/// A batch's answer: the push's acknowledgement, and the exchange's page.
type BatchAnswer = Result<(Exchange<PushResponse>, Option<Exchange<PullResponse>>), Failure>;

/// What the upload remembers of a batch it sent.
#[derive(Debug, Clone, Copy)]
struct Batch {
    first: i64,
    last: i64,
    /// Sent while an earlier batch was unanswered: a sequence gap in its
    /// answer means it reached the server first, not that entries were lost.
    behind: bool,
    /// Sent as the exchange.
    exchange: bool,
    /// The exchange's acknowledgement of the download pages applied (the
    /// last one's row).
    acked_pages: Option<i64>,
}

/// A batch on its way, and its answer once it arrived.
struct InFlight<F: Future> {
    batch: Batch,
    request: Pin<Box<F>>,
    answer: Option<F::Output>,
}

impl<F: Future> InFlight<F> {
    fn poll_answer(&mut self, cx: &mut Context<'_>) {
        if self.answer.is_none() {
            if let Poll::Ready(answer) = self.request.as_mut().poll(cx) {
                self.answer = Some(answer);
            }
        }
    }
}

/// The oldest batch's answer, taken from the queue; the later batches'
/// requests make progress meanwhile (an answer that arrives first waits for
/// its turn). `None` once nothing is on its way.
async fn oldest_answer<F: Future>(
    in_flight: &mut VecDeque<InFlight<F>>,
) -> Option<(Batch, F::Output)> {
    poll_fn(|cx| {
        for sent in in_flight.iter_mut() {
            sent.poll_answer(cx);
        }
        match in_flight.front_mut() {
            None => Poll::Ready(None),
            Some(oldest) => match oldest.answer.take() {
                Some(answer) => Poll::Ready(in_flight.pop_front().map(|b| (b.batch, answer))),
                None => Poll::Pending,
            },
        }
    })
    .await
}

impl SyncClient {
    /// Uploads the outbox until it is empty (or every entry is
    /// acknowledged), [`BATCHES_IN_FLIGHT`] batches on their way at once
    /// (module doc). With `pull_after`, the last batch goes as an exchange
    /// carrying the pull, whose first page is returned.
    pub(super) async fn push_all(
        &self,
        store: &Store,
        clock: &dyn Clock,
        report: &mut SyncReport,
        progress: Option<ProgressFn<'_>>,
        pull_after: bool,
    ) -> Result<(Option<DateTime<Utc>>, Option<PulledPage>), SyncError> {
        let mut page: Option<PulledPage> = None;
        let mut batch_size = self.config.push_batch.max(1);
        let mut batch_bytes = self.config.push_batch_bytes.max(1);
        let mut server_time = None;
        let device_id = store.device_id().clone();
        let tell =
            |report: &SyncReport| tell_progress(progress, SyncStage::Uploading, store, report);
        tell(report)?;
        let mut in_flight = VecDeque::with_capacity(BATCHES_IN_FLIGHT);
        // The next batch is read after this sequence: the last one sent, or
        // 0 for the outbox's first waiting entry.
        let mut read_after = 0;
        loop {
            while in_flight.len() < BATCHES_IN_FLIGHT {
                // Each fact goes as its stored text (`store::outbox_text`).
                let events =
                    store.pending_outbox_texts_after(read_after, batch_size, batch_bytes)?;
                let (Some(first), Some(last)) = (
                    events.first().map(|e| e.seq as i64),
                    events.last().map(|e| e.seq as i64),
                ) else {
                    break;
                };
                let exchange = pull_after
                    && page.is_none()
                    && !in_flight.iter().any(|f: &InFlight<_>| f.batch.exchange)
                    && !self.exchange_unsupported.load(Ordering::Relaxed)
                    && !store.has_pending_after(last)?;
                let mut acked_pages = None;
                let request = if exchange {
                    let pending = store.pending_download_acks()?;
                    acked_pages = pending.last().map(|(row, _)| *row);
                    BatchRequest::Exchange(ExchangeRequest {
                        protocol_version: PROTOCOL_VERSION,
                        device_id: device_id.clone(),
                        sent_at: Some(clock.now()),
                        events,
                        cursor: stored_cursor(store)?,
                        limit: Some(self.config.pull_page),
                        received: pending.into_iter().map(|(_, ack)| ack).collect(),
                        playbooks: store.published_playbook_versions()?,
                    })
                } else {
                    BatchRequest::Push(PushRequest {
                        protocol_version: PROTOCOL_VERSION,
                        device_id: device_id.clone(),
                        sent_at: Some(clock.now()),
                        events,
                    })
                };
                report.push_requests += 1;
                let batch = Batch {
                    first,
                    last,
                    behind: !in_flight.is_empty(),
                    exchange,
                    acked_pages,
                };
                in_flight.push_back(InFlight {
                    batch,
                    request: Box::pin(self.send_batch(request, clock)),
                    answer: None,
                });
                read_after = last;
            }
            let Some((batch, answer)) = oldest_answer(&mut in_flight).await else {
                return Ok((server_time, page));
            };
            let Batch { first, last, .. } = batch;
            // Whether the batches on their way are dropped and the upload
            // starts again from the outbox's first waiting entry.
            let start_again = match answer {
                Ok((x, pulled)) => {
                    if let Some(pull) = pulled {
                        page = Some(PulledPage {
                            x: pull,
                            acked_pages: batch.acked_pages,
                        });
                    }
                    report.bytes_sent += x.bytes_sent;
                    report.bytes_received += x.bytes_received;
                    report.clock_offset_ms = offset_ms(&x, x.body.server_time);
                    server_time = Some(x.body.server_time);
                    let r = x.body;
                    let refusals: Vec<Refusal> = r
                        .refused
                        .iter()
                        .map(|f| Refusal {
                            seq: f.seq as i64,
                            reason: format!("{:?}: {}", f.code, f.reason),
                        })
                        .collect();
                    store.apply_push_ack(
                        r.acked_seq as i64,
                        &refusals,
                        r.server_time,
                        clock.now(),
                    )?;
                    report.pushed += r.applied;
                    report.duplicates += r.duplicates;
                    report
                        .refused
                        .extend(refusals.into_iter().map(|f| (f.seq, f.reason)));
                    log::debug!(
                        target: "doorstep::sync",
                        "push acknowledged up to {} ({} new, {} duplicates)",
                        r.acked_seq,
                        r.applied,
                        r.duplicates
                    );
                    tell(report)?;
                    if (r.acked_seq as i64) < last {
                        // The server stored less than we sent without saying why:
                        // stop rather than loop; the next sync resumes from its ack.
                        return Err(SyncError::Decode(format!(
                            "the server acknowledged up to {} of a batch ending at {last}",
                            r.acked_seq
                        )));
                    }
                    false
                }
                Err(Failure::Gap { acked, expected }) if batch.behind => {
                    // It overtook the batch ahead of it, whose acknowledgement
                    // has been applied since: it goes again, with the ones
                    // after it.
                    log::debug!(
                        target: "doorstep::sync",
                        "the batch from seq {first} reached the server before the one ahead of it (expected {expected}, acked {acked}): sent again"
                    );
                    true
                }
                Err(Failure::Gap { acked, expected }) => {
                    // The server lacks entries before our first pending one. They were
                    // acknowledged once (so they exist locally): send them again.
                    let requeued = store.requeue_after(acked as i64)?;
                    log::warn!(
                        target: "doorstep::sync",
                        "the server expects seq {expected} (acked {acked}): {requeued} entries queued again"
                    );
                    if requeued == 0 {
                        return Err(SyncError::LostEvents {
                            expected,
                            first_pending: first as u64,
                        });
                    }
                    report.requeued += requeued as u64;
                    true
                }
                Err(Failure::TooLarge) if batch_size > 1 => {
                    batch_size = (batch_size / 2).max(1);
                    batch_bytes = (batch_bytes / 2).max(1);
                    log::debug!(target: "doorstep::sync", "batch too large, now {batch_size}");
                    true
                }
                Err(Failure::TooLarge) => {
                    return Err(SyncError::Refused {
                        status: 413,
                        code: "payload_too_large".into(),
                        message: "a single event exceeds the server's body limit".into(),
                        message_zh: None,
                    })
                }
                Err(Failure::Sync(SyncError::Refused {
                    status: 404 | 405, ..
                })) if batch.exchange => {
                    // An older server: push and pull apart from now on.
                    self.exchange_unsupported.store(true, Ordering::Relaxed);
                    report.push_requests -= 1;
                    true
                }
                Err(Failure::Sync(e)) => return Err(e),
            };
            if start_again {
                in_flight.clear();
                read_after = 0;
            }
        }
    }

    /// Sends one batch and reads its answer.
    async fn send_batch(&self, request: BatchRequest, clock: &dyn Clock) -> BatchAnswer {
        match request {
            BatchRequest::Push(push) => {
                let x = self
                    .post::<_, PushResponse>("/api/sync/push", &push, clock)
                    .await?;
                Ok((x, None))
            }
            BatchRequest::Exchange(both) => {
                let x = self
                    .post::<_, ExchangeResponse>("/api/sync/exchange", &both, clock)
                    .await?;
                let (push, pull) = split_exchange(x);
                Ok((push, Some(pull)))
            }
        }
    }
}
