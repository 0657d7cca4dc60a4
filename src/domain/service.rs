//! The platform's services (components), as the status page groups them,
//! and how hard an outage hits each one.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How hard an outage hits a service, least first: a service's state is
/// the worst impact among the outages on it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Working, slower or with errors now and then.
    Degraded,
    /// Some of it, or some customers, cannot use it.
    PartialOutage,
    /// Nobody can use it.
    MajorOutage,
}

impl Impact {
    /// Every impact, least first.
    pub const ALL: [Impact; 3] = [Impact::Degraded, Impact::PartialOutage, Impact::MajorOutage];

    /// As stored and in the API: `degraded`, `partial_outage`, `major_outage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Degraded => "degraded",
            Impact::PartialOutage => "partial_outage",
            Impact::MajorOutage => "major_outage",
        }
    }

    /// As people read it.
    pub fn title(self) -> &'static str {
        match self {
            Impact::Degraded => "Degraded performance",
            Impact::PartialOutage => "Partial outage",
            Impact::MajorOutage => "Major outage",
        }
    }
}

/// Text that is not an impact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown impact '{0}': expected degraded, partial_outage or major_outage")]
pub struct UnknownImpact(pub String);

impl FromStr for Impact {
    type Err = UnknownImpact;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Impact::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownImpact(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impacts_read_back_as_written_and_order_least_first() {
        for i in Impact::ALL {
            assert_eq!(i.as_str().parse::<Impact>(), Ok(i));
        }
        assert!("outage".parse::<Impact>().is_err());
        assert_eq!(Impact::ALL.into_iter().max(), Some(Impact::MajorOutage));
        assert!(Impact::Degraded < Impact::PartialOutage);
    }
}
