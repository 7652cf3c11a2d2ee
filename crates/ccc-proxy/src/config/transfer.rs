//! Issue 18: the transfer flags ([`TransferArgs`], flattened into
//! [`crate::config::Args`]) and the validated [`TransferConfig`]: skill
//! groups a transfer may go to, the operator's quick connects (favourites
//! of the directory), the directory's refresh and size, the keypad's pace.

use std::time::Duration;

use ccc_model::api::TargetType;
use clap::Args as ClapArgs;

/// Flags of transfers, the directory and the keypad.
#[derive(Debug, Clone, ClapArgs)]
pub struct TransferArgs {
    /// Skill groups agents may transfer to, `id=Name[|名称]`,
    /// comma-separated, in display order (e.g.
    /// `sales@ccc-test=Sales|销售`). With --demo and none given: the
    /// simulator's.
    #[arg(long = "skill-groups", env = "CCC_SKILL_GROUPS", default_value = "")]
    pub skill_groups: String,
    /// The directory's favourites, `type:target=Name[|名称]`,
    /// comma-separated, where type is `agent`, `skill-group` or `number`
    /// (e.g. `number:02150001234=Head office|总部`).
    #[arg(
        long = "quick-connects",
        env = "CCC_QUICK_CONNECTS",
        default_value = ""
    )]
    pub quick_connects: String,
    /// A file of more quick connects, one `type:target=Name[|名称]` a
    /// line (`#` starts a comment).
    #[arg(long = "quick-connects-file", env = "CCC_QUICK_CONNECTS_FILE")]
    pub quick_connects_file: Option<std::path::PathBuf>,
    /// How old the directory's agent states may get before one
    /// `ListRealtimeAgentStates` sweep refreshes them for every agent
    /// (events keep them current in between).
    #[arg(
        long = "directory-refresh-secs",
        env = "CCC_DIRECTORY_REFRESH_SECS",
        default_value_t = 30
    )]
    pub directory_refresh_secs: u64,
    /// Most entries one directory answer holds.
    #[arg(
        long = "directory-limit",
        env = "CCC_DIRECTORY_LIMIT",
        default_value_t = 50
    )]
    pub directory_limit: usize,
    /// Pause between two keypad keys sent to CCC (one SendDtmfSignaling a key).
    #[arg(long = "dtmf-gap-ms", env = "CCC_DTMF_GAP_MS", default_value_t = 100)]
    pub dtmf_gap_ms: u64,
}

/// A name in English and Simplified Chinese (`Name|名称`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    /// English (or the only name).
    pub en: String,
    /// Simplified Chinese, when given.
    pub zh_cn: Option<String>,
}

impl Label {
    /// Parses `Name[|名称]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (en, zh) = match s.split_once('|') {
            Some((en, zh)) => (en.trim(), Some(zh.trim())),
            None => (s.trim(), None),
        };
        let bad = |n: &str| n.contains(['|', '=', ',']) || n.chars().count() > 64;
        if en.is_empty() || bad(en) || zh.is_some_and(bad) {
            return Err(format!(
                "{s:?}: a name must be `Name|名称`, each 1 to 64 characters"
            ));
        }
        Ok(Label {
            en: en.to_owned(),
            zh_cn: zh.filter(|z| !z.is_empty()).map(str::to_owned),
        })
    }

    /// The name for a browser whose language is `lang` (`zh…`: Chinese
    /// when given).
    pub fn get(&self, lang: &str) -> &str {
        match &self.zh_cn {
            Some(zh) if lang.trim().to_ascii_lowercase().starts_with("zh") => zh,
            _ => &self.en,
        }
    }
}

/// A configured skill group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillGroup {
    /// CCC's skill group id.
    pub id: String,
    /// Its name.
    pub name: Label,
}

/// A favourite of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickConnect {
    /// Agent, skill group or number.
    pub kind: TargetType,
    /// The `UserId`, skill group id or number.
    pub target: String,
    /// Its name.
    pub name: Label,
}

/// The validated transfer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferConfig {
    /// Skill groups a transfer may go to.
    pub skill_groups: Vec<SkillGroup>,
    /// The directory's favourites.
    pub quick_connects: Vec<QuickConnect>,
    /// Age after which the directory's agents are swept again.
    pub directory_refresh: Duration,
    /// Most entries a directory answer holds.
    pub directory_limit: usize,
    /// Pause between two keypad keys.
    pub dtmf_gap: Duration,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            skill_groups: Vec::new(),
            quick_connects: Vec::new(),
            directory_refresh: Duration::from_secs(30),
            directory_limit: 50,
            dtmf_gap: Duration::from_millis(100),
        }
    }
}

/// Parses `--skill-groups`: `id=Name[|名称]`, comma-separated; a repeated
/// id keeps its first entry.
pub fn parse_skill_groups(s: &str) -> Result<Vec<SkillGroup>, String> {
    let mut out: Vec<SkillGroup> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (id, name) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} must be `id=Name|名称`"))?;
        let id = id.trim();
        if id.is_empty() || id.len() > 128 || id.contains(char::is_whitespace) {
            return Err(format!(
                "{item:?}: the id must be 1 to 128 characters, no spaces"
            ));
        }
        if out.iter().any(|g| g.id == id) {
            continue;
        }
        out.push(SkillGroup {
            id: id.to_owned(),
            name: Label::parse(name)?,
        });
    }
    Ok(out)
}

/// Parses one `type:target=Name[|名称]`.
pub fn parse_quick_connect(item: &str) -> Result<QuickConnect, String> {
    let bad =
        || format!("{item:?} must be `type:target=Name|名称` (type: agent, skill-group or number)");
    let (head, name) = item.split_once('=').ok_or_else(bad)?;
    let (kind, target) = head.split_once(':').ok_or_else(bad)?;
    let kind = match kind.trim() {
        "agent" => TargetType::Agent,
        "skill-group" => TargetType::SkillGroup,
        "number" => TargetType::Number,
        _ => return Err(bad()),
    };
    let target = target.trim();
    if target.is_empty() || target.len() > 128 || target.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok(QuickConnect {
        kind,
        target: target.to_owned(),
        name: Label::parse(name)?,
    })
}

impl TransferConfig {
    /// Validates the flags. A quick connect to a skill group must name a
    /// configured one; one to a number must pass `number_ok` (the dial
    /// rules: a favourite may not bypass them).
    pub fn from_args(
        args: &TransferArgs,
        number_ok: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Self, String> {
        let skill_groups =
            parse_skill_groups(&args.skill_groups).map_err(|e| format!("--skill-groups: {e}"))?;
        let mut quick_connects = Vec::new();
        for item in args
            .quick_connects
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            quick_connects
                .push(parse_quick_connect(item).map_err(|e| format!("--quick-connects: {e}"))?);
        }
        if let Some(path) = &args.quick_connects_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--quick-connects-file {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or_default().trim();
                if line.is_empty() {
                    continue;
                }
                quick_connects.push(parse_quick_connect(line).map_err(|e| {
                    format!(
                        "--quick-connects-file {} line {}: {e}",
                        path.display(),
                        n + 1
                    )
                })?);
            }
        }
        let mut config = TransferConfig {
            skill_groups,
            quick_connects: Vec::new(),
            directory_refresh: Duration::from_secs(args.directory_refresh_secs.max(1)),
            directory_limit: args.directory_limit.clamp(1, 200),
            dtmf_gap: Duration::from_millis(args.dtmf_gap_ms.min(2_000)),
        };
        for q in quick_connects {
            config.check_quick_connect(&q, &number_ok)?;
            if !config
                .quick_connects
                .iter()
                .any(|o| o.kind == q.kind && o.target == q.target)
            {
                config.quick_connects.push(q);
            }
        }
        Ok(config)
    }

    fn check_quick_connect(
        &self,
        q: &QuickConnect,
        number_ok: &impl Fn(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        match q.kind {
            TargetType::SkillGroup if self.skill_group(&q.target).is_none() => Err(format!(
                "quick connect {:?}: skill group {} is not in --skill-groups",
                q.name.en, q.target
            )),
            TargetType::Number => {
                number_ok(&q.target).map_err(|e| format!("quick connect {:?}: {e}", q.name.en))
            }
            _ => Ok(()),
        }
    }

    /// The configured skill group `id`.
    pub fn skill_group(&self, id: &str) -> Option<&SkillGroup> {
        self.skill_groups.iter().find(|g| g.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(groups: &str, qc: &str) -> TransferArgs {
        TransferArgs {
            skill_groups: groups.into(),
            quick_connects: qc.into(),
            quick_connects_file: None,
            directory_refresh_secs: 30,
            directory_limit: 50,
            dtmf_gap_ms: 100,
        }
    }

    #[test]
    fn skill_groups_and_quick_connects_parse_with_names() {
        let c = TransferConfig::from_args(
            &args(
                "sales@i=Sales|销售, support@i=Support,sales@i=Again",
                "skill-group:sales@i=Sales desk|销售台,number:02150001234=Head office|总部,agent:a@i=Ada",
            ),
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(
            c.skill_groups.len(),
            2,
            "a repeated id keeps its first entry"
        );
        assert_eq!(c.skill_groups[0].name.get("zh-CN"), "销售");
        assert_eq!(
            c.skill_groups[1].name.get("zh-CN"),
            "Support",
            "English when no Chinese"
        );
        assert_eq!(c.skill_groups[0].name.get("en-US"), "Sales");
        assert_eq!(c.quick_connects.len(), 3);
        assert_eq!(c.quick_connects[1].kind, TargetType::Number);
        assert_eq!(c.quick_connects[2].name.en, "Ada");
    }

    #[test]
    fn bad_entries_are_refused_at_start() {
        for (groups, qc) in [
            ("sales", ""),
            ("=Sales", ""),
            ("sales@i=", ""),
            ("sales@i=A|B|C", ""),
            ("", "queue:x=Name"),
            ("", "agent=Name"),
            ("", "skill-group:unknown@i=Name"),
        ] {
            assert!(
                TransferConfig::from_args(&args(groups, qc), |_| Ok(())).is_err(),
                "{groups:?} {qc:?}"
            );
        }
        // A favourite number still obeys the dial rules.
        let e = TransferConfig::from_args(&args("", "number:0090=Premium"), |n| {
            Err(format!("{n} may not be dialled"))
        })
        .unwrap_err();
        assert!(e.contains("0090 may not be dialled"), "{e}");
    }
}
