//! Where a cluster lives: zones, regions and the region a zone belongs to.

/// `europe-west1-b` → `europe-west1`; `None` when the text does not look like a zone.
pub fn region_of_zone(zone: &str) -> Option<&str> {
    let (region, suffix) = zone.rsplit_once('-')?;
    let zone_letter = suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_lowercase());
    (zone_letter && region.contains('-')).then_some(region)
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
