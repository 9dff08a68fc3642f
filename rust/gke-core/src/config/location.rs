//! Where a cluster lives: zones, regions and the region a zone belongs to.

use crate::error::Problem;

/// `europe-west1-b` → `europe-west1`; `None` when the text does not look like a zone.
pub fn region_of_zone(zone: &str) -> Option<&str> {
    let (region, suffix) = zone.rsplit_once('-')?;
    let zone_letter = suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_lowercase());
    (zone_letter && region.contains('-')).then_some(region)
}

/// Whether a cluster lives in one zone or across a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationType {
    Zonal,
    Regional,
}

impl LocationType {
    /// The form's value (`zonal`, `regional`); a problem of "Location type" otherwise.
    pub fn parse(text: &str) -> Result<Self, Problem> {
        match text {
            "zonal" => Ok(Self::Zonal),
            "regional" => Ok(Self::Regional),
            other => Err(Problem::new(
                "Location type",
                format!("'{other}' is not zonal or regional"),
            )),
        }
    }

    /// The cluster's location: the zone, or the region.
    pub fn pick<'a>(self, zone: &'a str, region: &'a str) -> &'a str {
        match self {
            Self::Zonal => zone,
            Self::Regional => region,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_zones() {
        assert_eq!(region_of_zone("europe-west1-b"), Some("europe-west1"));
        assert_eq!(region_of_zone("us-central1-f"), Some("us-central1"));
        assert_eq!(region_of_zone("us-central1"), None);
        assert_eq!(region_of_zone("zone"), None);
    }
}
