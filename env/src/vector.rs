//! [`VecEnv`]: N environments stepping concurrently on one tokio runtime.

use debugenv_sandbox::Sandbox;
use futures_util::future::join_all;

use crate::action::Action;
use crate::env::{Environment, ResetOptions};
use crate::error::Result;
use crate::observation::{Observation, Step};

/// A vector of environments; `reset_all` and `step_all` drive them
/// concurrently (each environment's sandbox work is asynchronous, so N
/// episodes overlap on one runtime).
#[derive(Debug)]
pub struct VecEnv<S: Sandbox> {
    envs: Vec<Environment<S>>,
}

impl<S: Sandbox> VecEnv<S> {
    /// Wraps environments.
    pub fn new(envs: Vec<Environment<S>>) -> Self {
        Self { envs }
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The environments.
    pub fn envs_mut(&mut self) -> &mut [Environment<S>] {
        &mut self.envs
    }

    /// Resets environment `i` with `options[i]`, all at once.
    ///
    /// # Errors
    ///
    /// The first environment's error, in index order.
    pub async fn reset_all(&mut self, options: Vec<ResetOptions>) -> Result<Vec<Observation>> {
        assert_eq!(
            options.len(),
            self.envs.len(),
            "one ResetOptions per environment"
        );
        join_all(self.envs.iter_mut().zip(options).map(|(e, o)| e.reset(o)))
            .await
            .into_iter()
            .collect()
    }

    /// Steps environment `i` with `actions[i]`, all at once; one result each.
    pub async fn step_all(&mut self, actions: Vec<Action>) -> Vec<Result<Step>> {
        assert_eq!(actions.len(), self.envs.len(), "one action per environment");
        join_all(self.envs.iter_mut().zip(actions).map(|(e, a)| e.step(a))).await
    }

    /// Closes every environment (destroys the sandboxes).
    ///
    /// # Errors
    ///
    /// The first failure; every sandbox is still asked to clean up.
    pub async fn close(self) -> Result<()> {
        join_all(self.envs.into_iter().map(Environment::close))
            .await
            .into_iter()
            .collect()
    }
}
