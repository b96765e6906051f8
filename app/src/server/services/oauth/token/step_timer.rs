//! Step timings of one token batch, for the debug log ("token batch steps").

/// Where one batch's time goes, step by step, for the debug log: the worker is the token
/// endpoint's bottleneck under load, so its steps are what to look at first.
pub struct StepTimer {
    last: std::time::Instant,
    steps: Vec<(&'static str, std::time::Duration)>,
}

impl StepTimer {
    /// Starts timing the first step.
    pub fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            steps: Vec::with_capacity(8),
        }
    }

    /// Ends step `name` (it began where the previous one ended).
    pub fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.steps.push((name, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for StepTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, took) in &self.steps {
            write!(f, "{name}={}us ", took.as_micros())?;
        }
        Ok(())
    }
}
