//! What tests asked, through the admin surface, of operations not started yet: end in error, or
//! stay RUNNING until released.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A `google.rpc.Status`, the `error` of a failed operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpcStatus {
    pub code: i64,
    pub message: String,
}

impl RpcStatus {
    pub fn cancelled(message: &str) -> Self {
        RpcStatus {
            code: crate::errors::rpc_code("CANCELLED"),
            message: message.to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationPlans {
    /// Errors the next operations end with, one each, in order.
    pub failures: VecDeque<RpcStatus>,
    /// How many of the next operations stay RUNNING until released.
    pub holds: u32,
}

/// What a new operation takes from the plans.
pub struct Plan {
    pub held: bool,
    pub error: Option<RpcStatus>,
}

impl OperationPlans {
    pub fn take(&mut self) -> Plan {
        let held = self.holds > 0;
        if held {
            self.holds -= 1;
        }
        Plan {
            held,
            error: self.failures.pop_front(),
        }
    }
}
