//! Work a request leaves until after its answer (the receipts a pull
//! acknowledged, `domain::receipts::settle_soon`): each job spawned on the
//! runtime and counted, so a stopping server, and a test reading what the
//! job writes, can wait until none is left ([`AfterAnswer::idle`]).

use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// The jobs left after their requests' answers, counted.
#[derive(Debug)]
pub struct AfterAnswer {
    running: Arc<watch::Sender<usize>>,
}

impl Default for AfterAnswer {
    fn default() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// Counts its job down when dropped: when the job ends, panics, or is
/// dropped unstarted with the runtime.
struct Running(Arc<watch::Sender<usize>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl AfterAnswer {
    /// Runs `job` on the runtime, counted until it ends.
    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        self.running.send_modify(|n| *n += 1);
        let running = Running(self.running.clone());
        tokio::spawn(async move {
            let _running = running;
            job.await;
        });
    }

    /// Waits until no job is left, those spawned meanwhile included.
    pub async fn idle(&self) {
        let mut running = self.running.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = running.wait_for(|n| *n == 0).await;
    }

    /// The jobs not ended yet.
    #[cfg(test)]
    fn running(&self) -> usize {
        *self.running.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::AfterAnswer;
    use std::time::Duration;

    #[tokio::test]
    async fn idle_waits_for_every_job_left_after_an_answer() {
        let after = AfterAnswer::default();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        after.spawn(async move {
            let _ = released.await;
        });
        after.spawn(async {});
        assert!(after.running() >= 1);
        let idle = after.idle();
        tokio::pin!(idle);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut idle)
                .await
                .is_err(),
            "idle while a job still waits"
        );
        release.send(()).expect("the job waits");
        idle.await;
        assert_eq!(after.running(), 0);
    }

    #[tokio::test]
    async fn a_job_that_panics_is_counted_out() {
        let after = AfterAnswer::default();
        after.spawn(async { panic!("a job failed") });
        after.idle().await;
        assert_eq!(after.running(), 0);
    }
}
