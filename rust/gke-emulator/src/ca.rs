//! Each cluster's certificate authority: GKE hands its certificate out as
//! `masterAuth.clusterCaCertificate`; its key stays in the state to sign the cluster's API certificates.

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCa {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl ClusterCa {
    pub fn generate(cluster: &str) -> ClusterCa {
        let key = KeyPair::generate().expect("the default key algorithm is available");
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("gke-emulator CA for {cluster}"));
        params.distinguished_name = name;
        let certificate = params
            .self_signed(&key)
            .expect("a self-signed CA from fresh parameters");
        ClusterCa {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Base64 of the PEM, the encoding GKE uses for `clusterCaCertificate`.
    pub fn certificate_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.certificate_pem)
    }
}
