//! GKE's create request, built once from a validated configuration as the client's typed model:
//! what start() sends and what the plan shows are the same value. `readable` names the enums
//! the form sets (the wire form numbers them).

use google_cloud_container_v1::model;
use serde_json::Value;

use crate::config::cluster::{
    ClusterSpec, IpRange, Network, PlanContext, ReleaseChannel, VALVE_FIELD,
};
use crate::config::form::apply_valve;
use crate::config::node_pool::{name_at, name_pool_enums, PoolContext};
use crate::error::Problem;

impl ClusterSpec {
    /// GKE's create request (parent and cluster), the cluster valve merged in: the one function
    /// the plan and the real creation share.
    // GKE still takes private nodes and authorized networks where Dataiku's plugin sets them
    // (their newer homes are in networkConfig and controlPlaneEndpointsConfig); the request
    // keeps the fields admins and the reference plugin know.
    #[allow(deprecated)]
    pub fn create_request(
        &self,
        ctx: &PlanContext,
    ) -> Result<model::CreateClusterRequest, Vec<Problem>> {
        let standard = !self.autopilot;
        let mut problems = Vec::new();
        let pools: Vec<model::NodePool> = if standard {
            let pool_ctx = PoolContext {
                dss_service_account: ctx.dss_service_account.clone(),
                cluster_labels: self.labels.clone(),
            };
            self.pools
                .iter()
                .filter_map(|(name, p)| {
                    p.to_api(name, &pool_ctx).map_err(|e| problems.push(e)).ok()
                })
                .collect()
        } else {
            Vec::new()
        };
        let (network, subnetwork) = match &self.network {
            Network::Inherit => ctx.host_network.clone().unwrap_or_default(),
            Network::Explicit {
                network,
                subnetwork,
            } => (network.clone(), subnetwork.clone()),
            Network::GkeDefault => Default::default(),
        };
        let release_channel = match &self.release_channel {
            ReleaseChannel::GkeDefault => None,
            ReleaseChannel::Unenrolled => Some(model::ReleaseChannel::new()),
            ReleaseChannel::Enrolled(c) => {
                Some(model::ReleaseChannel::new().set_channel(c.clone()))
            }
        };
        let ip_allocation = self.vpc_native.then(|| {
            let mut policy = model::IPAllocationPolicy::new().set_use_ip_aliases(true);
            match &self.pod_range {
                Some(IpRange::Cidr(c)) => {
                    policy = policy.set_cluster_ipv4_cidr_block(c.to_string())
                }
                Some(IpRange::SecondaryRange(n)) => {
                    policy = policy.set_cluster_secondary_range_name(n.clone())
                }
                None => {}
            }
            match &self.service_range {
                Some(IpRange::Cidr(c)) => {
                    policy = policy.set_services_ipv4_cidr_block(c.to_string())
                }
                Some(IpRange::SecondaryRange(n)) => {
                    policy = policy.set_services_secondary_range_name(n.clone())
                }
                None => {}
            }
            policy
        });
        let authorized = self.authorized_networks.as_ref().map(|(blocks, dss_host)| {
            use model::master_authorized_networks_config::CidrBlock;
            let mut cidrs: Vec<CidrBlock> = blocks
                .iter()
                .map(|b| {
                    CidrBlock::new()
                        .set_display_name(format!("admin {b}"))
                        .set_cidr_block(b.to_string())
                })
                .collect();
            if let (true, Some(ip)) = (*dss_host, &ctx.host_ip) {
                cidrs.push(
                    CidrBlock::new()
                        .set_display_name("DSS host")
                        .set_cidr_block(format!("{ip}/32")),
                );
            }
            model::MasterAuthorizedNetworksConfig::new()
                .set_enabled(true)
                .set_cidr_blocks(cidrs)
        });
        let cluster = model::Cluster::new()
            .set_name(self.name.clone())
            .set_resource_labels(self.labels.clone())
            .set_initial_cluster_version(self.version.clone().unwrap_or_default())
            .set_or_clear_release_channel(release_channel)
            .set_network(network)
            .set_subnetwork(subnetwork)
            .set_or_clear_ip_allocation_policy(ip_allocation)
            .set_or_clear_addons_config(standard.then(|| {
                model::AddonsConfig::new().set_http_load_balancing(
                    model::HttpLoadBalancing::new().set_disabled(!self.http_load_balancing),
                )
            }))
            .set_or_clear_network_config(self.gateway_api.then(|| {
                model::NetworkConfig::new().set_gateway_api_config(
                    model::GatewayAPIConfig::new()
                        .set_channel(model::gateway_api_config::Channel::Standard),
                )
            }))
            .set_or_clear_private_cluster_config(self.private_nodes.as_ref().map(|master| {
                model::PrivateClusterConfig::new()
                    .set_enable_private_nodes(true)
                    .set_master_ipv4_cidr_block(master.to_string())
            }))
            .set_or_clear_master_authorized_networks_config(authorized)
            .set_or_clear_workload_identity_config((self.workload_identity && standard).then(
                || {
                    model::WorkloadIdentityConfig::new()
                        .set_workload_pool(format!("{}.svc.id.goog", ctx.project_id))
                },
            ))
            .set_or_clear_shielded_nodes(
                standard.then(|| model::ShieldedNodes::new().set_enabled(self.shielded_nodes)),
            )
            .set_locations(self.node_locations.clone())
            .set_or_clear_autopilot(
                self.autopilot
                    .then(|| model::Autopilot::new().set_enabled(true)),
            )
            .set_node_pools(pools);
        let cluster = apply_valve(cluster, self.valve.as_ref(), VALVE_FIELD)
            .map_err(|p| problems.push(p))
            .ok();
        match cluster {
            Some(cluster) if problems.is_empty() => Ok(model::CreateClusterRequest::new()
                .set_parent(self.parent(ctx))
                .set_cluster(cluster)),
            _ => Err(problems),
        }
    }
}

/// The request as people read it: the wire form (`{"parent", "cluster"}`, defaults left out,
/// int64 as strings) with the enums the form sets by name rather than by number. Enums a valve
/// sets stay numbers.
pub fn readable(request: &model::CreateClusterRequest) -> Value {
    let mut value = serde_json::to_value(request).unwrap_or_default();
    let Some(cluster) = &request.cluster else {
        return value;
    };
    let c = &mut value["cluster"];
    if let Some(rc) = &cluster.release_channel {
        name_at(c, &["releaseChannel", "channel"], rc.channel.name());
    }
    if let Some(g) = cluster
        .network_config
        .as_ref()
        .and_then(|n| n.gateway_api_config.as_ref())
    {
        name_at(
            c,
            &["networkConfig", "gatewayApiConfig", "channel"],
            g.channel.name(),
        );
    }
    for (i, pool) in cluster.node_pools.iter().enumerate() {
        name_pool_enums(&mut c["nodePools"][i], pool);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::cluster::tests::config;
    use serde_json::json;

    fn ctx() -> PlanContext {
        PlanContext {
            project_id: "dss-prod-1234".into(),
            zone: "europe-west1-b".into(),
            region: "europe-west1".into(),
            host_network: Some((
                "projects/dss-prod-1234/global/networks/dss-vpc".into(),
                "projects/dss-prod-1234/regions/europe-west1/subnetworks/dss".into(),
            )),
            host_ip: Some("10.132.0.7".into()),
            dss_service_account: Some("dss@dss-prod-1234.iam.gserviceaccount.com".into()),
        }
    }

    /// The request as the plan shows it.
    fn request(spec: &ClusterSpec) -> Value {
        readable(&spec.create_request(&ctx()).unwrap())
    }

    #[test]
    fn zonal_standard_inherits_the_host_network() {
        let spec = config(json!({})).validate("My Cluster_1").unwrap();
        let request = request(&spec);
        assert_eq!(
            request["parent"],
            "projects/dss-prod-1234/locations/europe-west1-b"
        );
        let c = &request["cluster"];
        assert_eq!(c["name"], "my-cluster-1");
        assert_eq!(
            c["network"],
            "projects/dss-prod-1234/global/networks/dss-vpc"
        );
        assert_eq!(c["nodePools"][0]["name"], "pool-1");
        assert_eq!(c["ipAllocationPolicy"], json!({"useIpAliases": true}));
        assert!(c.get("releaseChannel").is_none());
    }

    #[test]
    fn regional_autopilot_has_no_pools() {
        let spec =
            config(json!({"mode": "autopilot", "location_type": "regional", "node_pools": []}))
                .validate("x")
                .unwrap();
        let c = &request(&spec)["cluster"];
        assert_eq!(
            spec.parent(&ctx()),
            "projects/dss-prod-1234/locations/europe-west1"
        );
        assert_eq!(c["autopilot"], json!({"enabled": true}));
        assert!(c.get("nodePools").is_none());
    }

    #[test]
    fn ranges_security_and_valve() {
        let spec = config(json!({
            "pod_range": "10.4.0.0/14", "service_range": "services-range",
            "private_nodes": true, "authorized_networks": true, "authorized_cidrs": ["203.0.113.0/24"],
            "workload_identity": true, "release_channel": "none",
            "settings_valve": "{\"addonsConfig\": {\"gcePersistentDiskCsiDriverConfig\": {\"enabled\": true}}}",
        }))
        .validate("x")
        .unwrap();
        let c = &request(&spec)["cluster"];
        assert_eq!(
            c["ipAllocationPolicy"]["clusterIpv4CidrBlock"],
            "10.4.0.0/14"
        );
        assert_eq!(
            c["ipAllocationPolicy"]["servicesSecondaryRangeName"],
            "services-range"
        );
        assert_eq!(
            c["privateClusterConfig"]["masterIpv4CidrBlock"],
            "172.16.0.0/28"
        );
        assert_eq!(
            c["masterAuthorizedNetworksConfig"]["cidrBlocks"][1]["cidrBlock"],
            "10.132.0.7/32"
        );
        assert_eq!(
            c["workloadIdentityConfig"]["workloadPool"],
            "dss-prod-1234.svc.id.goog"
        );
        assert_eq!(c["releaseChannel"], json!({}));
        // Load balancing on: Google's JSON mapping leaves `disabled: false` out.
        assert_eq!(c["addonsConfig"]["httpLoadBalancing"], json!({}));
        assert_eq!(
            c["addonsConfig"]["gcePersistentDiskCsiDriverConfig"]["enabled"],
            true
        );
    }

    #[test]
    fn the_valve_merges_objects_and_replaces_lists() {
        let spec = config(json!({
            "authorized_networks": true,
            "authorized_cidrs": ["203.0.113.0/24"],
            "authorize_dss_host": false,
            "labels": {"team": "data"},
            "settings_valve": r#"{"resourceLabels": {"cost": "batch"},
                "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "198.51.100.0/24"}]}}"#,
        }))
        .validate("x")
        .unwrap();
        let c = &request(&spec)["cluster"];
        // Objects merge key by key: the form's label stays beside the valve's.
        assert_eq!(c["resourceLabels"]["team"], "data");
        assert_eq!(c["resourceLabels"]["cost"], "batch");
        // A list replaces the form's whole list (it is not appended to).
        assert_eq!(
            c["masterAuthorizedNetworksConfig"]["cidrBlocks"],
            json!([{"cidrBlock": "198.51.100.0/24"}])
        );
    }

    #[test]
    fn latest_is_sent_and_default_leaves_the_version_to_gke() {
        let version = |v: &str| {
            let spec = config(json!({"kubernetes_version": v}))
                .validate("x")
                .unwrap();
            request(&spec)["cluster"]
                .get("initialClusterVersion")
                .cloned()
        };
        assert_eq!(version("latest"), Some(json!("latest")));
        assert_eq!(
            version("1.30.5-gke.1014001"),
            Some(json!("1.30.5-gke.1014001"))
        );
        assert_eq!(version("default"), None);
        assert_eq!(version(""), None);
        let e = config(json!({"kubernetes_version": "newest"}))
            .validate("x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Kubernetes version") && e.contains("'default'"),
            "{e}"
        );
    }
}
