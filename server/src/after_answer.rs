//! Work a request leaves until after its answer (the receipts a pull
//! acknowledged, `domain::receipts::settle_soon`): each job spawned on the
//! runtime and counted, so a stopping server, and a test reading what the
//! job writes, can wait until none is left ([`AfterAnswer::idle`]). A job
//! may wait a while before it starts ([`AfterAnswer::spawn_after`]); one
//! that waits is hurried by `idle`, so nobody waits for its delay.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The jobs left after their requests' answers, counted.
#[derive(Debug)]
pub struct AfterAnswer {
    running: Arc<watch::Sender<usize>>,
    /// Raised by each [`AfterAnswer::idle`]: a delayed job that sees it
    /// change starts at once.
    hurried: watch::Sender<u64>,
}

impl Default for AfterAnswer {
    fn default() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
            hurried: watch::Sender::new(0),
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

    /// Runs `job` on the runtime once `delay` has passed, or at once when
    /// [`AfterAnswer::idle`] is called meanwhile; counted from now.
    pub fn spawn_after(&self, delay: Duration, job: impl Future<Output = ()> + Send + 'static) {
        let mut hurried = self.hurried.subscribe();
        self.spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = hurried.changed() => {}
            }
            job.await;
        });
    }

    /// Hurries the delayed jobs and waits until no job is left, those
    /// spawned meanwhile included.
    pub async fn idle(&self) {
        self.hurried.send_modify(|n| *n += 1);
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
    async fn idle_hurries_a_delayed_job_instead_of_waiting_out_its_delay() {
        let after = AfterAnswer::default();
        let (done, mut ran) = tokio::sync::oneshot::channel::<()>();
        after.spawn_after(Duration::from_secs(3600), async move {
            let _ = done.send(());
        });
        tokio::task::yield_now().await;
        assert!(ran.try_recv().is_err(), "the job waits for its delay");
        tokio::time::timeout(Duration::from_secs(10), after.idle())
            .await
            .expect("idle hurries the job");
        assert_eq!(ran.try_recv(), Ok(()));
        assert_eq!(after.running(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_job_starts_on_its_own_once_its_delay_has_passed() {
        let after = AfterAnswer::default();
        let (done, ran) = tokio::sync::oneshot::channel::<()>();
        after.spawn_after(Duration::from_secs(3), async move {
            let _ = done.send(());
        });
        let started = tokio::time::Instant::now();
        ran.await.expect("the job ran");
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn a_job_that_panics_is_counted_out() {
        let after = AfterAnswer::default();
        after.spawn(async { panic!("a job failed") });
        after.idle().await;
        assert_eq!(after.running(), 0);
    }
}
