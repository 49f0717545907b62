//! Fiscal objects (Mexico, SAT): invoices (CFDI), tax returns, tax status, tax compliance status, tax retentions.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Timestamp;

/// Invoice
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Invoice {
    /// Belvo's unique identifier used to reference the current invoice.
    pub id: Option<Uuid>,
    /// The `link.id` the invoice belongs to.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub link: Option<String>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The fiscal institution's unique ID for the invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub invoice_identification: Option<String>,
    /// The date of the invoice.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub invoice_date: Option<NaiveDate>,
    /// The status of the invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub status: Option<String>,
    /// The fiscal institution's classification of the invoice.
    pub invoice_type: Option<InvoiceSatInvoiceType>,
    /// The direction of the invoice (from the perspective of the Link owner).
    pub r#type: Option<InvoiceType>,
    /// The fiscal ID of the invoice sender.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_id: Option<String>,
    /// The name of the invoice sender.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_name: Option<String>,
    /// Indicates whether or not the sender is on SAT's tax fraud list for having submitted incorrect data, having outstanding payments, or having conducted….
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_tax_fraud_status: Option<String>,
    /// The fiscal ID of the invoice receiver.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_id: Option<String>,
    /// The name of the invoice receiver.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_name: Option<String>,
    /// Indicates whether or not the receiver is on SAT's tax fraud list for having submitted incorrect data, having outstanding payments, or having conducted….
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_tax_fraud_status: Option<String>,
    /// If the invoice is cancelled, this field indicates the status of the cancellation.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub cancelation_status: Option<String>,
    /// The date of the invoice cancelation.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub cancelation_update_date: Option<NaiveDate>,
    /// The date of the fiscal certification.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub certification_date: Option<NaiveDate>,
    /// The fiscal ID of the certification provider.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub certification_authority: Option<String>,
    /// The payment type code used for this invoice, as defined by the country legal entity.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_type: Option<String>,
    /// *This field has been deprecated.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_type_description: Option<String>,
    /// The payment method code used for this invoice, as defined by the legal entity of the country.
    pub payment_method: Option<InvoiceSatPaymentMethod>,
    /// *This field has been deprecated.* *The description of the payment method used for this invoice.*.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_method_description: Option<String>,
    /// The invoice's usage code, as defined by the legal entity of the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub usage: Option<String>,
    /// The CFDI version of the invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub version: Option<String>,
    /// The postcode of where the invoice was issued.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub place_of_issue: Option<String>,
    /// A list of descriptions for each item (purchased product or service provided) in the invoice.
    pub invoice_details: Option<Vec<InvoiceDetailSat>>,
    /// The currency of the invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The pretax amount of this invoice (sum of each item's `pre_tax_amount`).
    pub subtotal_amount: Option<Decimal>,
    /// The exchange rate used in this invoice for the currency.
    pub exchange_rate: Option<Decimal>,
    /// The amount of tax for this invoice (sum of each item's `tax_amount`).
    pub tax_amount: Option<Decimal>,
    /// The total amount discounted in this invoice.
    pub discount_amount: Option<Decimal>,
    /// The total amount of the invoice (`subtotal_amount` + `tax_amount` - `discount_amount`).
    pub total_amount: Option<Decimal>,
    /// A list detailing all the invoice payments.
    pub payments: Option<Vec<InvoicesPaymentsSat>>,
    /// Details regarding the payroll payment.
    pub payroll: Option<InvoicesPayrollSat>,
    /// The internal control number that the taxpayer assigns to the invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub folio: Option<String>,
    /// XML of the invoice document.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub xml: Option<String>,
    /// Object containing information about any warnings related to this invoice.
    pub warnings: Option<InvoiceWarningsSat>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_blacklist_status: Option<String>,
    /// This field has been deprecated.
    /// Deprecated by Belvo.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_blacklist_status: Option<String>,
    /// General information about the taxes of the invoice.
    pub tax_details: Option<TaxDetailsInvoicesSat>,
    /// The tax regime of the sender, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_fiscal_regime: Option<String>,
    /// The postal code of the receiver.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_postal_code: Option<String>,
    /// The tax regime of the receiver, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_fiscal_regime: Option<String>,
    /// A list of related invoices.
    pub related_invoices: Option<Vec<RelatedInvoiceSat>>,
    /// The series of the invoice, as defined by the taxpayer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub series: Option<String>,
    /// The export type of the invoice, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub export_type: Option<String>,
}

/// TaxReturn
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxReturn {
    /// Unique identifier created by Belvo used to reference the current Tax Return.
    pub id: Option<Uuid>,
    /// The `link.id` the statement belongs to.
    pub link: Option<Uuid>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// General information on the tax return (year, RFC, return type, person/company name, and so on).
    pub informacion_general: Option<Value>,
    /// Details regarding the income information together combined with withheld taxes.
    pub sueldos_salarios: Option<Value>,
    /// Details regarding the income and tax information from professional services provided.
    pub servicios_profesionales: Option<Value>,
    /// List of all personal tax deductions.
    pub deducciones_personales: Option<Value>,
    /// Details regarding the final tax return.
    pub determinacion_impuesto: Option<Value>,
    /// Details on the already withheld taxes.
    pub retenciones: Option<Value>,
    /// Details regarding dividends.
    pub dividendos: Option<Value>,
    /// Extra informative data on the tax return.
    pub datos_informativos: Option<Value>,
    /// Tax return PDF as a binary.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub pdf: Option<String>,
    /// The acknowledgement receipt from the fiscal institution confirming that they received the tax return.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receipt_pdf: Option<String>,
    /// Information used to calculate the monthly provisional payments of the income tax.
    pub isr: Option<Value>,
    /// Information used to calculate the monthly provisional payments of the VAT tax.
    pub iva: Option<Value>,
    /// The type of tax return.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// Additional data regarding the tax return.
    pub datos_adicionales: Option<Value>,
    /// Detailed information about the legal entity's yearly profit and loss.
    pub estado_resultados: Option<Value>,
    /// Details regarding balance sheet of the legal entity.
    pub estado_posicion_financiera_balance: Option<Value>,
    /// Details regarding the accounting reconciliation.
    pub conciliacion_entre_resultado_contable_fiscal: Option<Value>,
    /// Details regarding the legal entity's deductions.
    pub deducciones_autorizadas: Option<Value>,
    /// Details regarding key numbers at the end of the fiscal exercise.
    pub cifras_cierre_ejercicio: Option<Value>,
    /// Details regarding the final tax return.
    pub determinacion_del_impuesto_sobre_la_renta: Option<Value>,
    /// Details regarding distributed dividends.
    pub dividendos_o_utilidades_distribuidos: Option<Value>,
    /// Details of the tax payment.
    pub detalle_pago_r1_isr_personas_morales: Option<Value>,
    /// Information used to calculate the provisional income tax for the period.
    pub determinacion_isr: Option<Value>,
    /// Information on the monthly provisional payments for the income tax.
    pub detalle_pago_isr: Option<Value>,
    /// Information used to calculate the provisional VAT tax for the period.
    pub determinacion_iva: Option<Value>,
    /// Information on the monthly provisional payments for the VAT tax.
    pub detalle_pago_iva: Option<Value>,
    /// > **Note**: Only applicable for tax return filed on or after 2022.
    pub ingressos: Option<Value>,
    /// > **Note**: Only applicable for tax return filed on or after 2022.
    pub determinacion: Option<Value>,
}

/// TaxStatus
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatus {
    /// Unique identifier created by Belvo used to reference the current Tax Status.
    pub id: Option<Uuid>,
    /// The `link.id` that the tax status is associated with.
    pub link: Option<Uuid>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The place and date of that the tax status was issued.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub place_and_date_of_issuance: Option<String>,
    /// The name of the person or business.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub official_name: Option<String>,
    /// The taxpayer's *Cédula de Identificación Fiscal* (CIF) ID.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub id_cif: Option<String>,
    /// Details regarding the taxpayer.
    pub tax_payer_information: Option<TaxStatusTaxPayerInformationSat>,
    /// The tax payer's address details.
    pub address: Option<TaxStatusAddressSat>,
    /// A list of economic activity objects.
    pub economic_activity: Option<Vec<TaxStatusEconomicActivitySat>>,
    /// A list of regimen objects.
    pub regimens: Option<Vec<TaxStatusRegimensSat>>,
    /// Details regarding a business's obligations.
    pub obligations: Option<Vec<TaxStatusObligationsSat>>,
    /// The validation certificate of the document.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub digital_stamp: Option<String>,
    /// A data chain containing the basic structure of a fiscal digital check.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub digital_stamp_chain: Option<String>,
    /// Tax status PDF as a binary string.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub pdf: Option<String>,
    /// A list of regimen objects.
    pub regimes: Option<Vec<TaxStatusRegimensSat>>,
}

/// TaxComplianceStatus
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxComplianceStatus {
    /// Unique identifier created by Belvo used to reference the current Tax Compliance Status.
    pub id: Option<Uuid>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The institution’s internal identification number for the document.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub internal_identification: Option<String>,
    /// Tax compliance status PDF as a binary.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub pdf: Option<String>,
    /// The account holder's RFC (Registro Federal de Contribuyentes) number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub rfc: Option<String>,
    /// Indicates whether the taxpayer is complying to all their tax obligations (`POSITIVE`), if they are not (`NEGATIVE`), or have none to comply to….
    pub outcome: Option<TaxComplianceStatusOutcome>,
}

/// TaxRetention
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRetention {
    /// Belvo's unique identifier used to reference the current tax retention statement.
    pub id: Option<Uuid>,
    /// The `link.id` the tax retention belongs to.
    pub link: Option<Uuid>,
    /// The ISO-8601 timestamp of when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// The fiscal institution's unique ID for the invoice that the tax retention relates to.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub invoice_identification: Option<String>,
    /// The CFDI version of the tax retentions.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub version: Option<String>,
    /// The tax retention code.
    pub code: Option<i64>,
    /// The ISO-8601 timestamp of when the tax retention was issued.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub issued_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the tax retention was certified.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub certified_at: Option<Timestamp>,
    /// The ISO-8601 timestamp of when the tax retention was canceled (if applicable).
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub cancelled_at: Option<Timestamp>,
    /// The fiscal ID of the invoice sender.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_id: Option<String>,
    /// The name of the invoice sender.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub sender_name: Option<String>,
    /// Whether the invoice receiver is a Mexican national or not.
    pub receiver_nationality: Option<TaxRetentionReceiverNationality>,
    /// The fiscal ID of the invoice receiver.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_id: Option<String>,
    /// The name of the invoice receiver.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub receiver_name: Option<String>,
    /// The total amount of the invoice that the tax retention relates to.
    pub total_invoice_amount: Option<Decimal>,
    /// Total amount that is exempt from taxation.
    pub total_exempt_amount: Option<Decimal>,
    /// Total tax retained.
    pub total_retained_amount: Option<Decimal>,
    /// The total amount that can be taxed.
    pub total_taxable_amount: Option<Decimal>,
    /// A breakdown of the retained taxes.
    pub retention_breakdown: Option<Vec<RetentionBreakdown>>,
    /// The tax retention document in XML form.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub xml: Option<String>,
}

/// InvoiceDetailSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceDetailSat {
    /// The description of the invoice item (an invoice can have one or more items).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub description: Option<String>,
    /// The identification code of the product or the service, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub product_identification: Option<String>,
    /// The quantity of this invoice item.
    pub quantity: Option<Decimal>,
    /// The unit of measure, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub unit_code: Option<String>,
    /// The description of the item, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub unit_description: Option<String>,
    /// The price of one a singular item.
    pub unit_amount: Option<Decimal>,
    /// **Note**: This field is not applicable for DIAN Colombia and will return `null`.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The total price for this item before tax is applied (`quantity` x `unit_amount`).
    pub pre_tax_amount: Option<Decimal>,
    /// The tax percentage to apply.
    pub tax_percentage: Option<Decimal>,
    /// The amount of tax for this invoice item (`pre_tax_amount` x `tax_percentage`).
    pub tax_amount: Option<Decimal>,
    /// The total price for this invoice item (`pre_tax_amount` + `tax_amount`).
    pub total_amount: Option<Decimal>,
    /// The retained tax on the invoice item.
    pub retained_taxes: Option<Vec<InvoiceDetailRetainedTaxSat>>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The discount amount applied to this invoice item.
    pub discount: Option<Decimal>,
    /// Indicates what tax this item is subject to, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_subject_code: Option<String>,
    /// The identification number of the item, as defined by the seller.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub identifier_number: Option<String>,
    /// The transferred taxes related to the invoice.
    pub transferred_taxes: Option<Vec<InvoiceDetailTransferredTaxSat>>,
}

/// InvoicesPaymentsSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicesPaymentsSat {
    /// ISO-8601 timestamp when the payment was made.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub date: Option<Timestamp>,
    /// Payment type code used for this invoice, as defined by the country's legal entity.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_type: Option<String>,
    /// The currency of the payment.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The `currency` to MXN currency exchange rate when the payment was made.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub exchange_rate: Option<String>,
    /// The invoice amount, in the currency of the original invoice.
    pub amount: Option<Decimal>,
    /// The fiscal institution's internal identifier for the operation.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub operation_number: Option<String>,
    /// The fiscal ID of the payment beneficiary.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub beneficiary_rfc: Option<String>,
    /// The bank account number of the payment beneficiary.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub beneficiary_account_number: Option<String>,
    /// The fiscal ID of the payment issuer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payer_rfc: Option<String>,
    /// The bank account number of the payment issuer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payer_account_number: Option<String>,
    /// The banking institution that was used by the payment issuer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payer_bank_name: Option<String>,
    /// A list of all the related deferred invoices affected by the payment.
    pub related_documents: Option<Vec<InvoicesPaymentsRelatedDocumentsSat>>,
}

/// InvoicesPayrollSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicesPayrollSat {
    /// The number of days covered by the payment.
    pub days: Option<i64>,
    /// The payroll type, as defined by the legal entity of the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The total amount of the payroll payment.
    pub amount: Option<Decimal>,
    /// The version of the payroll object.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub version: Option<String>,
    /// The start date of the payment period.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub date_from: Option<NaiveDate>,
    /// The end date of the payment period.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub date_to: Option<NaiveDate>,
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The payment date.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub payment_date: Option<NaiveDate>,
    /// How often the payroll payment is made.
    pub periodicity: Option<InvoicePayrollPeriodicity>,
    /// A breakdown of the earnings for the payroll payment.
    pub earnings_breakdown: Option<Vec<InvoicePayrollEarningsBreakdown>>,
    /// A breakdown of the tax deductions on the payroll payment.
    pub tax_deductions: Option<Vec<InvoicePayrollTaxDeductions>>,
    /// A breakdown of other payments for the payroll.
    pub other_payments: Option<Vec<InvoicePayrollOtherPayments>>,
}

/// InvoiceWarningsSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceWarningsSat {
    /// The warning code.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub code: Option<String>,
    /// The description of the warning.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub message: Option<String>,
}

/// TaxDetailsInvoicesSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxDetailsInvoicesSat {
    /// Total amount of retained taxes.
    pub total_tax_retained: Option<Decimal>,
    /// Total amount of transferred taxes.
    pub total_tax_transferred: Option<Decimal>,
    /// List of retained taxes.
    pub retained_taxes: Option<Vec<TaxDetailsInvoicesSatRetainedTaxesItem>>,
    /// List of transferred taxes.
    pub transferred_taxes: Option<Vec<TaxDetailsInvoicesSatTransferredTaxesItem>>,
}

/// RelatedInvoiceSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelatedInvoiceSat {
    /// The type of relationship between this invoice and the related invoice, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub relationship_type: Option<String>,
    /// The SAT ID of the related invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub related_invoice_identification: Option<String>,
}

/// TaxStatusTaxPayerInformationSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusTaxPayerInformationSat {
    /// The tax payers's identification number (For Mexico, this is the RFC).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub rfc: Option<String>,
    /// The tax payers's *Clave Única de Registro de Población* (CURP) number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub curp: Option<String>,
    /// The tax payers's first name.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// The tax payers's first last name.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub first_last_name: Option<String>,
    /// The tax payers's second last name.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub second_last_name: Option<String>,
    /// Date when the tax payer commenced taxable commercial activities.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub start_operations_date: Option<NaiveDate>,
    /// Status of the taxpayer in the Federal Register of Taxpayers (RFC).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub status_padron: Option<String>,
    /// Date when `status_padron` was most recently updated.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub last_status_change_date: Option<NaiveDate>,
    /// The name of the business designated for consumers and the general public.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub commercial_name: Option<String>,
    /// The unique and exclusive name within the national territory that companies receive for legal or administrative purposes.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub social_name: Option<String>,
    /// Contact email address for the tax payer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub email: Option<String>,
    /// Contact phone number for the tax payer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub phone: Option<String>,
}

/// TaxStatusAddressSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusAddressSat {
    /// The postcode of the address.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub postal_code: Option<String>,
    /// The `street` type.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub street_type: Option<String>,
    /// The tax payers street.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub street: Option<String>,
    /// The street number.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub exterior_number: Option<String>,
    /// Additional address information.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub interior_number: Option<String>,
    /// The suburb of the tax payer.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub suburb: Option<String>,
    /// The locality of the address.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub locality: Option<String>,
    /// The municipality of the address.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub municipality: Option<String>,
    /// The state that the address is in.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub state: Option<String>,
    /// Additional information about where the `street` is located.
    pub between_street: Option<Vec<TaxStatusAddressBetweenStreetSat>>,
}

/// TaxStatusEconomicActivitySat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusEconomicActivitySat {
    /// The description of the economic activity.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub economic_activity: Option<String>,
    /// The start date of the economic activity.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub initial_date: Option<NaiveDate>,
    /// The end date of the economic activity.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub end_date: Option<NaiveDate>,
    /// The order of the economic activity.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub order: Option<String>,
    /// The percentage of the economic activity.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub percentage: Option<String>,
}

/// TaxStatusRegimensSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusRegimensSat {
    /// The end date of the regimen.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub end_date: Option<NaiveDate>,
    /// The start date of the regimen.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub initial_date: Option<NaiveDate>,
    /// The description of the regimen.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub regimen: Option<String>,
    /// The regime (in Belvo's examples, not its schema).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub regime: Option<String>,
}

/// TaxStatusObligationsSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusObligationsSat {
    /// The description of the obligation.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub obligation: Option<String>,
    /// The deadline to fulfill the obligation, as imposed by the tax authority.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub expiration: Option<String>,
    /// The date when obligation started.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub initial_date: Option<NaiveDate>,
    /// The date when obligation ended.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub end_date: Option<NaiveDate>,
}

/// RetentionBreakdown
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionBreakdown {
    /// The base amount that was used to calculate the tax retention.
    pub base_amount: Option<Decimal>,
    /// Optional attribute to indicate the type of tax withheld for the period or year according to the SAT catalog.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The amount retained.
    pub retained_amount: Option<Decimal>,
    /// Indicates whether or not the tax has been paid or not.
    pub payment_status: Option<TaxRetentionPaymentStatus>,
}

/// InvoiceDetailRetainedTaxSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceDetailRetainedTaxSat {
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// **Note**: This field is not applicable for SAT Mexico and will return `null`.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The type of retained tax (for example, ISR, IVA or IEPS).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax: Option<String>,
    /// The percentage of tax retained.
    pub tax_percentage: Option<Decimal>,
    /// The amount of retained tax.
    pub retained_tax_amount: Option<Decimal>,
}

/// InvoiceDetailTransferredTaxSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceDetailTransferredTaxSat {
    /// The ISO-8601 timestamp when the data point was collected.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub collected_at: Option<Timestamp>,
    /// The tax type code for this transferred tax, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The type of transferred tax (for example, ISR, IVA or IEPS).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax: Option<String>,
    /// The percentage of tax transferred.
    pub tax_percentage: Option<Decimal>,
    /// The amount of transferred tax.
    pub transferred_tax_amount: Option<Decimal>,
}

/// InvoicesPaymentsRelatedDocumentsSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicesPaymentsRelatedDocumentsSat {
    /// The fiscal institution's unique ID for the related deferred invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub invoice_identification: Option<String>,
    /// The currency of the related invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The payment method of the related invoice.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub payment_method: Option<String>,
    /// The payment installment number.
    pub partiality_number: Option<i64>,
    /// The invoice amount before the payment.
    pub previous_balance: Option<Decimal>,
    /// The amount paid in this installment.
    pub amount_paid: Option<Decimal>,
    /// The amount remaining to be paid.
    pub outstanding_balance: Option<Decimal>,
    /// The installment (in Belvo's examples, not its schema).
    pub installment: Option<Value>,
}

/// InvoicePayrollEarningsBreakdown
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicePayrollEarningsBreakdown {
    /// The type of income.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The amount of the income that is taxable.
    pub taxable_amount: Option<Decimal>,
    /// The amount of the income that is not subject to VAT.
    pub vat_free_amount: Option<Decimal>,
}

/// InvoicePayrollTaxDeductions
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicePayrollTaxDeductions {
    /// The type of tax deduction.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The amount of the tax deduction.
    pub amount: Option<Decimal>,
}

/// InvoicePayrollOtherPayments
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicePayrollOtherPayments {
    /// The type of other payment.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub r#type: Option<String>,
    /// The amount of the other payment.
    pub amount: Option<Decimal>,
}

/// TaxDetailsInvoicesSatRetainedTaxesItem
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxDetailsInvoicesSatRetainedTaxesItem {
    /// The tax type code for this retained tax, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The type of retained tax (for example, ISR, IVA or IEPS).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax: Option<String>,
    /// The percentage of tax retained.
    pub tax_percentage: Option<Decimal>,
    /// The amount before tax.
    pub pre_tax_amount: Option<Decimal>,
    /// The amount of retained tax.
    pub tax_amount: Option<Decimal>,
}

/// TaxDetailsInvoicesSatTransferredTaxesItem
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxDetailsInvoicesSatTransferredTaxesItem {
    /// The tax type code (TipoFactor) for this transferred tax, as defined by the legal entity in the country.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax_type: Option<String>,
    /// The type of transferred tax (for example, ISR, IVA or IEPS).
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub tax: Option<String>,
    /// The percentage of tax transferred.
    pub tax_percentage: Option<Decimal>,
    /// The amount before tax.
    pub pre_tax_amount: Option<Decimal>,
    /// The amount of transferred tax.
    pub tax_amount: Option<Decimal>,
}

/// TaxStatusAddressBetweenStreetSat
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxStatusAddressBetweenStreetSat {
    /// The first street that `street` is located between.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub street_one: Option<String>,
    /// The second street that `street` is located between.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub street_two: Option<String>,
}

string_enum! {
    /// InvoiceSatInvoiceType
    pub enum InvoiceSatInvoiceType {
        Egreso = "Egreso",
        Ingreso = "Ingreso",
        NMina = "Nómina",
        Pago = "Pago",
        Traslado = "Traslado",
    }
}

string_enum! {
    /// InvoiceType
    pub enum InvoiceType {
        Outflow = "OUTFLOW",
        Inflow = "INFLOW",
    }
}

string_enum! {
    /// InvoiceSatPaymentMethod
    pub enum InvoiceSatPaymentMethod {
        Pue = "PUE",
        Pip = "PIP",
        Ppd = "PPD",
    }
}

string_enum! {
    /// TaxComplianceStatusOutcome
    pub enum TaxComplianceStatusOutcome {
        Positive = "POSITIVE",
        Negative = "NEGATIVE",
        NoObligations = "NO_OBLIGATIONS",
    }
}

string_enum! {
    /// TaxRetentionReceiverNationality
    pub enum TaxRetentionReceiverNationality {
        National = "NATIONAL",
        Foreign = "FOREIGN",
    }
}

string_enum! {
    /// InvoicePayrollPeriodicity
    pub enum InvoicePayrollPeriodicity {
        Daily = "DAILY",
        Weekly = "WEEKLY",
        TenthDay = "TENTH_DAY",
        FourteenthDay = "FOURTEENTH_DAY",
        FifteenthDay = "FIFTEENTH_DAY",
        Monthly = "MONTHLY",
        Bimonthly = "BIMONTHLY",
        PerTask = "PER_TASK",
        Commission = "COMMISSION",
        OneOff = "ONE_OFF",
        OtherPeriodicity = "OTHER_PERIODICITY",
        Null = "null",
    }
}

string_enum! {
    /// TaxRetentionPaymentStatus
    pub enum TaxRetentionPaymentStatus {
        Paid = "PAID",
        Provisioned = "PROVISIONED",
    }
}
