//! Answers shared by the Django REST framework dialects (Djoser, Monta).

use serde_json::{json, Value};

pub fn not_provided() -> Value {
    json!({"detail": "Authentication credentials were not provided."})
}

pub fn invalid_token() -> Value {
    json!({"detail": "Invalid token."})
}
