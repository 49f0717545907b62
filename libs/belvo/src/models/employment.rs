//! Employment records (Mexico, IMSS and ISSSTE).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;

/// EmploymentRecord
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecord {
    /// The unique identifier created by Belvo for the current IMSS statement.
    pub id: Option<Uuid>,
    /// The unique identifier created by Belvo for the current user.
    pub link: Option<Uuid>,
    /// The ISO-8601 timestamp of when the data point was initially created in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The date when the employment record report was generated, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub report_date: Option<NaiveDate>,
    /// Unique ID for user according to the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub internal_identification: Option<String>,
    /// Details regarding the personal information of the individual.
    pub personal_data: Option<EmploymentRecordPersonalData>,
    /// Details regarding the individual's social security contributions.
    pub social_security_summary: Option<EmploymentRecordSocialSecuritySummary>,
    /// Details regarding the individual's employment history.
    pub employment_records: Option<Vec<EmploymentRecordDetail>>,
    /// Additional PDF binary files relating to the individual's employment.
    pub files: Option<Vec<EmploymentRecordFile>>,
    /// The number of days that have passed since the employment data was originally extracted from the institution.
    pub days_since_extraction: Option<i64>,
    /// An array of `employment_record` scores.
    pub employment_scores: Option<Vec<EmploymentRecordScore>>,
    /// Provides a modeled estimation of the user's current base salary and employment status.
    pub salary_estimation: Option<EmploymentRecordSalaryEstimation>,
}

/// EmploymentRecordPersonalData
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordPersonalData {
    /// The legal name of the individual.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub official_name: Option<String>,
    /// The first name of the individual.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub first_name: Option<String>,
    /// The last name of the individual.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub last_name: Option<String>,
    /// The email address of the individual (as provided in the initial POST request).
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub email: Option<String>,
    /// The date of the birth of the individual, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub birth_date: Option<NaiveDate>,
    /// Details regarding the benefits the individual is entitled to.
    pub entitlements: Option<EmploymentRecordEntitlement>,
    /// Details regarding the individual's ID documents.
    pub document_ids: Option<Vec<EmploymentRecordDocumentId>>,
}

/// EmploymentRecordSocialSecuritySummary
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordSocialSecuritySummary {
    /// Number of weeks the individual needed to take out of their pension.
    pub weeks_redeemed: Option<i64>,
    /// Number of weeks the individual has paid back into their pension (*AFORE*), after having redeemed them previously.
    pub weeks_reinstated: Option<i64>,
    /// Number of weeks the individual has contributed to their social security, based on the number of weeks the individual has worked according to IMSS.
    pub weeks_contributed: Option<i64>,
}

/// EmploymentRecordDetail
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordDetail {
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The official name of the employer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub employer: Option<String>,
    /// The official ID of the employer, according to the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub employer_id: Option<String>,
    /// Date when employment started, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub start_date: Option<NaiveDate>,
    /// Date when employment finished, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub end_date: Option<NaiveDate>,
    /// Number of weeks that the individual was employed.
    pub weeks_employed: Option<i64>,
    /// In what geographical state the individual was employed, according to the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub state: Option<String>,
    /// The most recent base salary the individual earned.
    pub most_recent_base_salary: Option<Decimal>,
    /// The monthly salary of the individual, including any additional perks.
    pub monthly_salary: Option<Decimal>,
    /// The three-letter currency code in which the salary is paid.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// Details regarding any employment changes of the individual.
    pub employment_status_updates: Option<Vec<EmploymentStatusUpdate>>,
}

/// EmploymentRecordFile
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordFile {
    /// The title of the document.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The PDF binary of the file (as a string).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub value: Option<String>,
}

/// EmploymentRecordScore
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordScore {
    /// A score between 300 and 900 that provides an insight into employability and income generation potential.
    pub score: Option<i64>,
    /// The number of months (in the future) that the score is calculated for.
    pub period: Option<i64>,
    /// The version of our employment score model used to perform the calculation.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub version: Option<String>,
}

/// EmploymentRecordSalaryEstimation
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordSalaryEstimation {
    /// Current employment status estimated using an employment record with a past report date.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub employment_status_estimate: Option<String>,
    /// Current base salary (daily amount) estimated using an employment record with a past report date.
    pub base_salary_estimate: Option<Decimal>,
    /// The three-letter currency code (ISO-4217).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
}

/// EmploymentRecordEntitlement
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordEntitlement {
    /// Indicated whether or not the individual is entitled to health insurance.
    pub entitled_to_health_insurance: Option<bool>,
    /// Indicates whether or not the individual is entitled to company benefits.
    pub entitled_to_company_benefits: Option<bool>,
    /// Date until when the individual is covered by health insurance and/or company benefits.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub valid_until: Option<NaiveDate>,
    /// Indicates whether or not the individual is currently `EMPLOYED` or `UNEMPLOYED`.
    pub status: Option<EmploymentRecordStatus>,
}

/// EmploymentRecordDocumentId
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentRecordDocumentId {
    /// The type of document related to the individual.
    pub document_type: Option<EmploymentRecordDocumentType>,
    /// The ID document's number (as a string).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub document_number: Option<String>,
}

/// EmploymentStatusUpdate
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmploymentStatusUpdate {
    /// The event that caused the change in employment status or salary.
    pub event: Option<EmploymentRecordStatusUpdateEvents>,
    /// The base salary of the individual, current as of the `update_date`.
    pub base_salary: Option<Decimal>,
    /// The date that the employment event occured, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub update_date: Option<NaiveDate>,
}

string_enum! {
    /// EmploymentRecordStatus
    pub enum EmploymentRecordStatus {
        Employed = "EMPLOYED",
        Unemployed = "UNEMPLOYED",
        Retired = "RETIRED",
        Null = "null",
    }
}

string_enum! {
    /// EmploymentRecordDocumentType
    pub enum EmploymentRecordDocumentType {
        Nss = "NSS",
        Curp = "CURP",
        Rfc = "RFC",
    }
}

string_enum! {
    /// EmploymentRecordStatusUpdateEvents
    pub enum EmploymentRecordStatusUpdateEvents {
        DismissedResigned = "DISMISSED_RESIGNED",
        SalaryModification = "SALARY_MODIFICATION",
        Hired = "HIRED",
        VoluntaryContribution = "VOLUNTARY_CONTRIBUTION",
        Absence = "ABSENCE",
        SickLeave = "SICK_LEAVE",
        Normal = "NORMAL",
        BdutaCertificate = "BDUTA_CERTIFICATE",
        DyeCertificate = "DYE_CERTIFICATE",
    }
}
