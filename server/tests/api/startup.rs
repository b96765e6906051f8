//! Building the application while a server of the same process answers pages.
//!
//! Leptos generates the route list by rendering the app once with resource loading suppressed
//! through a process-wide flag; a page resource first polled meanwhile, by any server of the
//! process, waits forever (leptos issue #4773). `latchkey serve` builds one router, but tests
//! (and any embedding) build many: the list is generated once per process.

use crate::helpers::{on_each_backend, test_router};
use reqwest::StatusCode;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;

#[tokio::test]
async fn pages_answer_while_another_router_of_the_process_is_built() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let stop = Arc::new(AtomicBool::new(false));
        let builder = {
            let (state, address, stop) = (app.state.clone(), app.address, Arc::clone(&stop));
            tokio::task::spawn_blocking(move || {
                let mut built = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    drop(test_router(&state, address, false));
                    built += 1;
                }
                built
            })
        };
        for n in 0..30 {
            let path = ["/", "/clients", "/administrators", "/audit", "/sign-in"][n % 5];
            let response = app
                .client
                .get(format!("{}{path}", app.base))
                .header("accept", "text/html")
                .timeout(Duration::from_secs(20))
                .send()
                .await;
            let body = match response {
                Ok(response) => {
                    let status = response.status();
                    assert!(
                        status == StatusCode::OK || status.is_redirection(),
                        "{path}: {status} on {}",
                        app.backend
                    );
                    response.text().await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = body {
                stop.store(true, Ordering::SeqCst);
                panic!(
                    "{path} (request {n}) got no complete answer on {}: {error:?}",
                    app.backend
                );
            }
        }
        stop.store(true, Ordering::SeqCst);
        assert!(builder.await.unwrap() > 0, "the other router was built");
    })
    .await;
}
