//! Links and institutions.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;
use super::banking::InstitutionType;

/// Link
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Link {
    /// Belvo's unique ID for the current Link.
    pub id: Option<Uuid>,
    /// Belvo's name for the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub institution: Option<String>,
    /// The link type.
    pub access_mode: Option<AccessMode>,
    /// The ISO-8601 timestamp of Belvo's most recent successful access to the institution for the given link.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub last_accessed_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The `external_id` you provided as an additional identifier for the link.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub external_id: Option<String>,
    /// Info: Only applicable for links created after 08-02-2022.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub institution_user_id: Option<String>,
    /// The current status of the link.
    pub status: Option<LinkStatus>,
    /// The unique ID for the user that created this link.
    pub created_by: Option<Uuid>,
    /// The update refresh rate for the recurrent link.
    pub refresh_rate: Option<RefreshRate>,
    /// Indicates whether or not to store credentials (and the duration for which to store the credentials).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub credentials_storage: Option<String>,
    /// An array of resources that you will receive a historical update for.
    pub fetch_resources: Option<Vec<String>>,
    /// Indicates how long any user-derived data should be stored in Belvo's database for the link (both single and recurrent).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub stale_in: Option<String>,
}

/// Institution
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Institution {
    /// The ID of the institution as designated by Belvo.
    pub id: Option<i64>,
    /// The name of the institution, as designated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The type of institution.
    pub r#type: Option<InstitutionType>,
    /// The URL of the institution's website.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub website: Option<String>,
    /// The customer-facing name of the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub display_name: Option<String>,
    /// The country codes where the institution is available, for example: - 🇧🇷 BR (Brazil) - 🇨🇴 CO (Colombia) - 🇲🇽 MX (Mexico).
    pub country_codes: Option<Vec<String>>,
    /// The primary color on the institution's website.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub primary_color: Option<String>,
    /// The URL of the institution's logo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub logo: Option<String>,
    /// The URL of the institution's icon logo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub icon_logo: Option<String>,
    /// The URL of the institution's text logo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub text_logo: Option<String>,
    pub form_fields: Option<Vec<FormField>>,
    /// The features that the institution supports.
    pub features: Option<Vec<InstitutionFeature>>,
    /// A list of Belvo resources that you can use with the institution.
    pub resources: Option<Vec<String>>,
    /// The type of technology used to access the institution.
    pub integration_type: Option<InstitutionIntegrationType>,
    /// Indicates whether Belvo's integration with the institution is currently active (`healthy`) or undergoing maintenance (`down`).
    pub status: Option<InstitutionStatus>,
    /// This field is **deprecated** and will be removed in a future release.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub code: Option<String>,
    /// Information about the institution on the Open Finance environment.
    pub openbanking_information: Option<InstitutionOpenBankingInformation>,
}

/// FormField
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormField {
    /// The username, password, or username type field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The input type for the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The label of the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub label: Option<String>,
    /// The type of input validation used for the field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub validation: Option<String>,
    /// The placeholder text in the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub placeholder: Option<String>,
    /// The message displayed when an invalid input is provided in the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub validation_message: Option<String>,
    /// If the form field is for documents, the institution may require additional input regarding the document type.
    pub values: Option<Vec<FormFieldValue>>,
}

/// InstitutionFeature
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstitutionFeature {
    /// The name of the feature.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The description of the feature.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub description: Option<String>,
}

/// InstitutionOpenBankingInformation
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstitutionOpenBankingInformation {
    /// A short description of the institution on the Open Finance environment.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub description: Option<String>,
    /// List of brands' servers available from the institution in Open Finance.
    pub participants: Option<Vec<String>>,
    /// The authorization server ID (UUID) of the institution on the Open Finance Environment.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub authorization_server_id: Option<String>,
}

/// FormFieldValue
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormFieldValue {
    /// The code of the document.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub code: Option<String>,
    /// The label for the field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub label: Option<String>,
    /// The type of input validation used for the field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub validation: Option<String>,
    /// The message displayed when an invalid input is provided in the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub validation_message: Option<String>,
    /// The placeholder text in the form field.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub placeholder: Option<String>,
}

string_enum! {
    /// AccessMode
    pub enum AccessMode {
        Single = "single",
        Recurrent = "recurrent",
    }
}

string_enum! {
    /// LinkStatus
    pub enum LinkStatus {
        Valid = "valid",
        Invalid = "invalid",
        Unconfirmed = "unconfirmed",
        TokenRequired = "token_required",
    }
}

string_enum! {
    /// RefreshRate
    pub enum RefreshRate {
        Hours6 = "6h",
        Hours12 = "12h",
        Hours24 = "24h",
        Days7 = "7d",
        Days30 = "30d",
    }
}

string_enum! {
    /// InstitutionIntegrationType
    pub enum InstitutionIntegrationType {
        Credentials = "credentials",
        Openbanking = "openbanking",
        Openfinance = "openfinance",
    }
}

string_enum! {
    /// InstitutionStatus
    pub enum InstitutionStatus {
        Healthy = "healthy",
        Down = "down",
    }
}
