//! The CCC actions of the softphone (ccc-api.md §1.4, §10.1):
//! `GetLoginDetails`' SIP fields, `GetTurnServerList`,
//! `GetTurnCredentials`, `ListDevices`.

use ccc_model::{CccError, ErrorCode};
use serde_json::{json, Value};

use crate::state_machine::Agent;
use crate::SimState;

/// Adds `SipServerUrl` (the simulator itself unless configured: `host:port`,
/// no scheme, as CCC answers) and the H1 credentials to `GetLoginDetails`'
/// `Data`. `host` is the request's `Host` header.
pub fn login_details(
    state: &SimState,
    agent: &Agent,
    host: Option<&str>,
    mut details: Value,
    now: i64,
) -> Value {
    let phone = state.softphone();
    let validity_ms = i64::try_from(phone.config().credential_validity_secs)
        .unwrap_or(i64::MAX / 2_000)
        .saturating_mul(1_000);
    let creds = phone.secret().login(
        &agent.extension,
        &agent.display_name,
        now.saturating_add(validity_ms),
        phone.config().user_key2_unit,
    );
    if let Some(o) = details.as_object_mut() {
        o.insert("SipServerUrl".into(), json!(phone.server_url(host)));
        o.insert("UserKey".into(), json!(creds.user_key));
        o.insert("Signature".into(), json!(creds.signature));
        o.insert("UserKey2".into(), json!(creds.user_key2));
        o.insert("Signature2".into(), json!(creds.signature2));
    }
    details
}

/// `GetTurnServerList`: `Data` is a JSON **string** of
/// `[{region, name, domain, cidr}]`, as CCC answers. Nothing listens at the
/// configured domain: on loopback no relay is needed.
pub fn turn_server_list(state: &SimState) -> Value {
    let domain = &state.softphone().config().turn_domain;
    let list = json!([{
        "region": "cn-shanghai",
        "name": "Shanghai",
        "domain": domain,
        "cidr": "127.0.0.0/8",
    }]);
    Value::String(list.to_string())
}

/// How long TURN credentials are valid.
const TURN_VALIDITY_SECS: i64 = 86_400;

/// `GetTurnCredentials` and `ListDevices` for `user_id` (already resolved;
/// must exist in `instance`).
pub fn dispatch(
    state: &SimState,
    action: &str,
    instance: &str,
    user_id: &str,
) -> Result<Value, CccError> {
    let exists = state
        .world()
        .agents
        .get(user_id)
        .is_some_and(|a| a.instance_id == instance);
    if !exists {
        return Err(ErrorCode::NoUser.with_params([user_id, instance]));
    }
    match action {
        "GetTurnCredentials" => {
            let expires = crate::now_ms() / 1_000 + TURN_VALIDITY_SECS;
            let (user, password) = state.softphone().secret().turn(user_id, expires);
            Ok(json!({ "UserName": user, "Password": password }))
        }
        "ListDevices" => {
            let devices = state.softphone().devices(Some(user_id), crate::now_ms());
            Ok(serde_json::to_value(devices).unwrap_or(Value::Null))
        }
        other => Err(ErrorCode::ActionNotFound.with_params([other])),
    }
}
