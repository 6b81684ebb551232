//! `respond`: touches nothing; the route's response template is the answer
//! (DRF's API root, a list of links under `{base_url}`).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::{Action, Call, Input, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Respond {}

#[async_trait]
impl Action for Respond {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    async fn run(&self, _call: &Call<'_>) -> Outcome {
        Ok(Map::new())
    }
}
