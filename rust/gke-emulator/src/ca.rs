//! Each cluster's certificate authority: GKE hands its certificate out as
//! `masterAuth.clusterCaCertificate`; its key stays in the state to sign the cluster's API certificates.

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
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
        let certificate = ca_params(cluster)
            .self_signed(&key)
            .expect("a self-signed CA from fresh parameters");
        ClusterCa {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A certificate for the cluster's Kubernetes API, signed by this CA, valid for the loopback
    /// address and `localhost` (the IP and DNS endpoints): `(certificate DER, PKCS#8 key DER)`.
    pub fn server_certificate(&self, cluster: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
        let ca_key = KeyPair::from_pem(&self.key_pem).map_err(|e| format!("CA key: {e}"))?;
        // The issuer is rebuilt from the same parameters as the CA itself, so its name and key
        // identifier match the certificate clients trust, without parsing that certificate.
        let issuer = Issuer::new(ca_params(cluster), ca_key);
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = name;
        params.subject_alt_names = vec![
            SanType::IpAddress([127, 0, 0, 1].into()),
            SanType::DnsName("localhost".try_into().expect("a valid DNS name")),
            SanType::DnsName(
                "kubernetes.default.svc"
                    .try_into()
                    .expect("a valid DNS name"),
            ),
        ];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let certificate = params
            .signed_by(&key, &issuer)
            .map_err(|e| format!("signing the API certificate: {e}"))?;
        Ok((certificate.der().to_vec(), key.serialize_der()))
    }

    /// Base64 of the PEM, the encoding GKE uses for `clusterCaCertificate`.
    pub fn certificate_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.certificate_pem)
    }
}

/// The CA's parameters; the same for generating it and for signing with it later.
fn ca_params(cluster: &str) -> CertificateParams {
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
    params
}
