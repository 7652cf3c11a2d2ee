//! The CCC simulator embedded for `--demo` (cargo feature `demo`, on by
//! default): started on a loopback port, its agents offered on the sign-in
//! page, its webhook pointed at this proxy.

use std::net::SocketAddr;

use ccc_model::signing::AccessKey;

use crate::{config, identity::DemoAgent, Config, RunError};

impl From<ccc_sim::SimAgent> for DemoAgent {
    fn from(a: ccc_sim::SimAgent) -> Self {
        DemoAgent {
            user_id: a.user_id,
            display_name: a.display_name,
            extension: a.extension,
        }
    }
}

/// Starts the demo simulator on a loopback port and points `config` at it
/// (endpoint, demo key pair, instance). Returns the running simulator and
/// its agents for the sign-in page.
pub async fn start_simulator(
    config: &mut Config,
) -> Result<(ccc_sim::RunningSim, Vec<DemoAgent>), RunError> {
    let mut sim_config = ccc_sim::SimConfig::demo();
    sim_config.timings.demo_calls_secs = config.demo_calls_secs;
    let (id, secret) = sim_config
        .access_keys()
        .into_iter()
        .next()
        .ok_or_else(|| RunError::Config("the demo simulator has no key pair".into()))?;
    let agents: Vec<DemoAgent> = sim_config.agents().into_iter().map(Into::into).collect();
    if let Some(instance) = sim_config.agents().first().map(|a| a.instance_id.clone()) {
        config.instance_id = instance;
    }
    // Issue 18: without --skill-groups, the simulator's are offered.
    if config.transfer.skill_groups.is_empty() {
        config.transfer.skill_groups = sim_config
            .instances
            .iter()
            .flat_map(|i| &i.skill_groups)
            .map(|g| config::transfer::SkillGroup {
                id: g.id.clone(),
                name: config::transfer::Label {
                    en: g.name.clone(),
                    zh_cn: None,
                },
            })
            .collect();
    }
    let sim = ccc_sim::spawn(sim_config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    config.upstream.endpoint = sim.endpoint();
    config.upstream.access_key = AccessKey::new(id, secret);
    tracing::info!(endpoint = %sim.endpoint(), "in-process CCC simulator started");
    Ok((sim, agents))
}

/// Points the demo simulator's webhook at this proxy's own `/ccc/events`
/// with a fresh token (unless `--events-token` chose one), so `make run`
/// shows the event path: state changes arrive as events, not polls.
pub fn demo_events(
    config: &mut Config,
    sim: &ccc_sim::RunningSim,
    addr: SocketAddr,
) -> Result<(), RunError> {
    let token = config
        .events_token
        .get_or_insert_with(|| {
            let bytes: [u8; 24] = rand::random();
            config::Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        })
        .clone();
    let host = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let token = String::from_utf8_lossy(token.expose()).into_owned();
    let target = ccc_sim::WebhookTarget::new(&format!("http://{host}/ccc/events"), Some(token))?;
    sim.state().set_webhook(Some(target));
    tracing::info!("demo: the simulator pushes agent events to /ccc/events");
    Ok(())
}
