//! Enrichment objects computed from banking data: incomes, recurring expenses, risk insights.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;
use super::banking::{Account, TransactionCategory, TransactionSubcategory};

/// Income
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Income {
    /// Belvo's unique identifier for the current income.
    pub id: Option<Uuid>,
    /// The `link.id` the account belongs to.
    pub link: Option<Uuid>,
    /// The ISO-8601 timestamp of when the data point was created in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// An array of enriched income stream objects.
    pub income_streams: Option<Vec<IncomeStream>>,
    /// The institution where the account is registered.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub institution: Option<String>,
    /// The type of source we generate income insights from.
    pub income_source_type: Option<IncomeSourceType>,
    /// The date when the first transaction occurred, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub first_transaction_date: Option<NaiveDate>,
    /// The date when when the last transaction occurred, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub last_transaction_date: Option<NaiveDate>,
    /// Number of total income streams analized.
    pub number_of_income_streams: Option<i64>,
    /// Average amount of income received per month across all the accounts for the specific user.
    pub monthly_average: Option<Decimal>,
    /// Average amount of regular income (with a frequency of `MONTHLY`, `BIWEEKLY`, or `WEEKLY`) received per month for the specific user.
    pub monthly_average_regular: Option<Decimal>,
    /// Average amount of irregular income (with a frequency of `SINGLE` or `IRREGULAR`) received per month for the specific user.
    pub monthly_average_irregular: Option<Decimal>,
    /// Average amount of income received per month for the specific user with `LOW` confidence.
    pub monthly_average_low_confidence: Option<Decimal>,
    /// Average amount of income received per month for the specific user with `MEDIUM` confidence.
    pub monthly_average_medium_confidence: Option<Decimal>,
    /// Average amount of income received per month for the specific user with `HIGH` confidence.
    pub monthly_average_high_confidence: Option<Decimal>,
    /// Total amount of all income received for the specific user.
    pub total_income_amount: Option<Decimal>,
    /// Total amount of regular income (with a frequency of `MONTHLY`, `BIWEEKLY`, `WEEKLY`) for the specific user.
    pub total_regular_income_amount: Option<Decimal>,
    /// Total amount of irregular income (with a frequency of `SINGLE` or `IRREGULAR`) for the specific user.
    pub total_irregular_income_amount: Option<Decimal>,
    /// Total amount of income for the specific user with `LOW` confidence.
    pub total_low_confidence: Option<Decimal>,
    /// Total amount of income for the specific user with `MEDIUM` confidence.
    pub total_medium_confidence: Option<Decimal>,
    /// Total amount of income for the specific user with `HIGH` confidence.
    pub total_high_confidence: Option<Decimal>,
    /// The best working day of the month to charge the user.
    pub best_working_day_to_charge: Option<i64>,
    /// Additional working days that have been identified as good days to charge the user.
    pub good_working_days_to_charge: Option<Vec<i64>>,
}

/// RecurringExpense
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecurringExpense {
    /// Belvo's unique identifier used to reference the current recurring expense.
    pub id: Option<Uuid>,
    /// Details regarding the account.
    pub account: Option<Account>,
    /// The name for the recurring expense.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub name: Option<String>,
    /// An array of minified transaction objects used to evaluate the recurring expense.
    pub transactions: Option<Vec<RecurringExpenseSourceTransaction>>,
    /// The frequency at which this recurring expense occurs.
    pub frequency: Option<RecurringExpenseFrequency>,
    /// The average transaction amount of the recurring expense.
    pub average_transaction_amount: Option<Decimal>,
    /// The median transaction amount of the recurring expense.
    pub median_transaction_amount: Option<Decimal>,
    /// Number of days since the last recurring expense occurred.
    pub days_since_last_transaction: Option<i64>,
    /// The transaction category for the recurring expense.
    pub category: Option<RecurringExpenseCategory>,
    /// The type of recurring expense.
    pub payment_type: Option<RecurringExpensePaymentType>,
}

/// RiskInsights
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsights {
    /// Belvo's unique ID for the risk insights request.
    pub id: Option<Uuid>,
    /// The `link.id` the risk insights analysis belongs to.
    pub link: Option<Uuid>,
    /// An array of Belvo-generated account numbers (UUIDs) that were used during the risk insights analysis.
    pub accounts: Option<Vec<String>>,
    /// The ISO-8601 timestamp of when the data point was last updated in Belvo's database.
    #[serde(default, with = "crate::models::serde_lenient::timestamp")]
    pub created_at: Option<Timestamp>,
    /// Aggregated metrics calculated band on the user's transactions from checking, savings, credit card, and loan accounts.
    pub transactions_metrics: Option<RiskInsightsTransactionMetrics>,
    /// Balance metrics calculated based on the user's balances from checking and savings accounts.
    pub balances_metrics: Option<RiskInsightsBalanceMetrics>,
    /// Aggregated metrics calculated based on the user's transactions from checking, savings, credit, and loan accounts.
    pub cashflow_metrics: Option<RiskInsightsCashflowMetrics>,
    /// Aggregated metrics calculated based on the link's credit card accounts.
    pub credit_cards_metrics: Option<RiskInsightsCreditCardMetrics>,
    /// Aggregated metrics calculated based on the user's loan accounts.
    pub loans_metrics: Option<RiskInsightsLoansMetrics>,
    /// Aggregate details regarding the assets used in the risk insight analysis.
    pub assets_metrics: Option<RiskInsightsAssetMetrics>,
    /// An array of aggregate metrics regarding the transaction categories and subcategories that Belvo has identified within the user's transaction history.
    pub category_metrics: Option<Vec<RiskInsightsCategoryMetrics>>,
}

/// IncomeStream
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncomeStream {
    /// Unique ID for the bank account to be verified for income streams.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub account_id: Option<String>,
    /// The type of income used in the calculations.
    pub income_type: Option<IncomeStreamType>,
    /// How often the income is received.
    pub frequency: Option<IncomeStreamFrequency>,
    /// The average amount of income received from the source over `lookback_periods`.
    pub monthly_average: Option<Decimal>,
    /// The average income transaction amount from the source.
    pub average_income_amount: Option<Decimal>,
    /// The amount of the most recent income received from the source.
    pub last_income_amount: Option<Decimal>,
    /// The three-letter currency code of the income.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub currency: Option<String>,
    /// The description of the most recent income from the steam.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub last_income_description: Option<String>,
    /// The date when the most recent income from the stream was received, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub last_income_date: Option<NaiveDate>,
    /// The stability of the income based on its amount, with a range from 0 to 1, where 1 represents perfect stability.
    pub stability: Option<Decimal>,
    /// The regularity of the income basde in its frequency, with a range from 0 to 1, where 1 represents perfect regularity.
    pub regularity: Option<Decimal>,
    /// The income trend during a period of time calculated between last income and first income received, where: - a negative float means that the income trend is….
    pub trend: Option<Decimal>,
    /// Number of period units (based on *rolling months*) used to generate insights and calculations.
    pub lookback_periods: Option<i64>,
    /// Number of period units (based on *rolling months*) with data to perform calculations.
    pub full_periods: Option<i64>,
    /// Number of period units (based on *rolling months*) with at least one income available.
    pub periods_with_income: Option<i64>,
    /// Number of income transactions over the `lookback_periods`.
    pub number_of_incomes: Option<i64>,
    /// Belvo's level of confidence for future incomes.
    pub confidence: Option<IncomeStreamConfidence>,
    /// The median amount of income received from the source over within a natural month.
    pub monthly_median: Option<Decimal>,
}

/// RecurringExpenseSourceTransaction
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecurringExpenseSourceTransaction {
    /// The transaction amount.
    pub amount: Option<Decimal>,
    /// The description of the transaction provided by the institution.
    #[serde(deserialize_with = "crate::models::serde_lenient::string")]
    pub description: Option<String>,
    /// The date when the transaction occurred, in `YYYY-MM-DD` format.
    #[serde(default, with = "crate::models::serde_lenient::date")]
    pub value_date: Option<NaiveDate>,
}

/// RiskInsightsTransactionMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsTransactionMetrics {
    /// The total number of transactions analyzed to determine the risk insights for the last week (incoming and outgoing).
    pub num_transactions_1w: Option<i64>,
    /// The total number of transactions analyzed to determine the risk insights for the last month (incoming and outgoing).
    pub num_transactions_1m: Option<i64>,
    /// The total number of transactions analyzed to determine the risk insights for the last three months (incoming and outgoing).
    pub num_transactions_3m: Option<i64>,
    /// The total number of inflow transactions for the last week.
    pub num_incoming_transactions_1w: Option<i64>,
    /// The total number of inflow transactions for the last month.
    pub num_incoming_transactions_1m: Option<i64>,
    /// The total number of inflow transactions for the last three months.
    pub num_incoming_transactions_3m: Option<i64>,
    /// To total number of outflow transactions in the last week.
    pub num_outgoing_transactions_1w: Option<i64>,
    /// To total number of outflow transactions in the last month.
    pub num_outgoing_transactions_1m: Option<i64>,
    /// To total number of outflow transactions in the last three months.
    pub num_outgoing_transactions_3m: Option<i64>,
    /// The total sum of all inflow transactions for the last week.
    pub sum_incoming_amount_1w: Option<Decimal>,
    /// The total sum of all inflow transactions for the last month.
    pub sum_incoming_amount_1m: Option<Decimal>,
    /// The total sum of all inflow transactions for the last three months.
    pub sum_incoming_amount_3m: Option<Decimal>,
    /// The total sum of all outflow transactions for the last week.
    pub sum_outgoing_amount_1w: Option<Decimal>,
    /// The total sum of all outflow transactions for the last month.
    pub sum_outgoing_amount_1m: Option<Decimal>,
    /// The total sum of all outflow transactions for the last three months.
    pub sum_outgoing_amount_3m: Option<Decimal>,
    /// The highest value inflow transaction in the last week.
    pub max_incoming_amount_1w: Option<Decimal>,
    /// The highest value inflow transaction in the last month.
    pub max_incoming_amount_1m: Option<Decimal>,
    /// The highest value inflow transaction in the last three months.
    pub max_incoming_amount_3m: Option<Decimal>,
    /// The highest value outflow transaction in the last week.
    pub max_outgoing_amount_1w: Option<Decimal>,
    /// The highest value outflow transaction in the last month.
    pub max_outgoing_amount_1m: Option<Decimal>,
    /// The highest value outflow transaction in the last three months.
    pub max_outgoing_amount_3m: Option<Decimal>,
    /// The mean incoming value of all transactions in the last week.
    pub mean_incoming_amount_1w: Option<Decimal>,
    /// The mean incoming value of all transactions in the last month.
    pub mean_incoming_amount_1m: Option<Decimal>,
    /// The mean incoming value of all transactions in the last three months.
    pub mean_incoming_amount_3m: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last week.
    pub mean_outgoing_amount_1w: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last month.
    pub mean_outgoing_amount_1m: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last three months.
    pub mean_outgoing_amount_3m: Option<Decimal>,
    /// The total number of transactions analyzed to determine the risk insights for the last three days (incoming and outgoing).
    pub num_transactions_3d: Option<i64>,
    /// The total number of transactions analyzed to determine the risk insights for the last six months (incoming and outgoing).
    pub num_transactions_6m: Option<i64>,
    /// The total number of transactions analyzed to determine the risk insights for the last twelve months (incoming and outgoing).
    pub num_transactions_12m: Option<i64>,
    /// The maximum number of transactions for the last three days.
    pub max_num_transactions_3d: Option<i64>,
    /// The maximum number of transactions for the last week.
    pub max_num_transactions_1w: Option<i64>,
    /// The maximum number of transactions for the last month.
    pub max_num_transactions_1m: Option<i64>,
    /// The maximum number of transactions for the last three months.
    pub max_num_transactions_3m: Option<i64>,
    /// The maximum number of transactions for the last six months.
    pub max_num_transactions_6m: Option<i64>,
    /// The maximum number of transactions for the last twelve months.
    pub max_num_transactions_12m: Option<i64>,
    /// The mean number of transactions for the last three days.
    pub mean_num_transactions_3d: Option<Decimal>,
    /// The mean number of transactions for the last week.
    pub mean_num_transactions_1w: Option<Decimal>,
    /// The mean number of transactions for the last month.
    pub mean_num_transactions_1m: Option<Decimal>,
    /// The mean number of transactions for the last three months.
    pub mean_num_transactions_3m: Option<Decimal>,
    /// The mean number of transactions for the last six months.
    pub mean_num_transactions_6m: Option<Decimal>,
    /// The mean number of transactions for the last twelve months.
    pub mean_num_transactions_12m: Option<Decimal>,
    /// The total number of inflow transactions for the last three days.
    pub num_incoming_transactions_3d: Option<i64>,
    /// The total number of inflow transactions for the last six months.
    pub num_incoming_transactions_6m: Option<i64>,
    /// The total number of inflow transactions for the last twelve months.
    pub num_incoming_transactions_12m: Option<i64>,
    /// The maximum number of inflow transactions for the last three days.
    pub max_num_incoming_transactions_3d: Option<i64>,
    /// The maximum number of inflow transactions for the last week.
    pub max_num_incoming_transactions_1w: Option<i64>,
    /// The maximum number of inflow transactions for the last month.
    pub max_num_incoming_transactions_1m: Option<i64>,
    /// The maximum number of inflow transactions for the last three months.
    pub max_num_incoming_transactions_3m: Option<i64>,
    /// The maximum number of inflow transactions for the last six months.
    pub max_num_incoming_transactions_6m: Option<i64>,
    /// The maximum number of inflow transactions for the last twelve months.
    pub max_num_incoming_transactions_12m: Option<i64>,
    /// The mean number of inflow transactions for the last three days.
    pub mean_num_incoming_transactions_3d: Option<Decimal>,
    /// The mean number of inflow transactions for the last week.
    pub mean_num_incoming_transactions_1w: Option<Decimal>,
    /// The mean number of inflow transactions for the last month.
    pub mean_num_incoming_transactions_1m: Option<Decimal>,
    /// The mean number of inflow transactions for the last three months.
    pub mean_num_incoming_transactions_3m: Option<Decimal>,
    /// The mean number of inflow transactions for the last six months.
    pub mean_num_incoming_transactions_6m: Option<Decimal>,
    /// The mean number of inflow transactions for the last twelve months.
    pub mean_num_incoming_transactions_12m: Option<Decimal>,
    /// The total sum of all inflow transactions for the last three days.
    pub sum_incoming_amount_3d: Option<Decimal>,
    /// The total sum of all inflow transactions for the last six months.
    pub sum_incoming_amount_6m: Option<Decimal>,
    /// The total sum of all inflow transactions for the last twelve months.
    pub sum_incoming_amount_12m: Option<Decimal>,
    /// The highest value inflow transaction in the last three days.
    pub max_incoming_amount_3d: Option<Decimal>,
    /// The highest value inflow transaction in the last six months.
    pub max_incoming_amount_6m: Option<Decimal>,
    /// The highest value inflow transaction in the last twelve months.
    pub max_incoming_amount_12m: Option<Decimal>,
    /// The mean incoming value of all transactions in the last three days.
    pub mean_incoming_amount_3d: Option<Decimal>,
    /// The mean incoming value of all transactions in the last six months.
    pub mean_incoming_amount_6m: Option<Decimal>,
    /// The mean incoming value of all transactions in the last twelve months.
    pub mean_incoming_amount_12m: Option<Decimal>,
    /// To total number of outflow transactions in the last three days.
    pub num_outgoing_transactions_3d: Option<i64>,
    /// To total number of outflow transactions in the last six months.
    pub num_outgoing_transactions_6m: Option<i64>,
    /// To total number of outflow transactions in the last twelve months.
    pub num_outgoing_transactions_12m: Option<i64>,
    /// The maximum number of outflow transactions for the last three days.
    pub max_num_outgoing_transactions_3d: Option<i64>,
    /// The maximum number of outflow transactions for the last week.
    pub max_num_outgoing_transactions_1w: Option<i64>,
    /// The maximum number of outflow transactions for the last month.
    pub max_num_outgoing_transactions_1m: Option<i64>,
    /// The maximum number of outflow transactions for the last three months.
    pub max_num_outgoing_transactions_3m: Option<i64>,
    /// The maximum number of outflow transactions for the last six months.
    pub max_num_outgoing_transactions_6m: Option<i64>,
    /// The maximum number of outflow transactions for the last twelve months.
    pub max_num_outgoing_transactions_12m: Option<i64>,
    /// The mean number of outflow transactions for the last three days.
    pub mean_num_outgoing_transactions_3d: Option<Decimal>,
    /// The mean number of outflow transactions for the last week.
    pub mean_num_outgoing_transactions_1w: Option<Decimal>,
    /// The mean number of outflow transactions for the last month.
    pub mean_num_outgoing_transactions_1m: Option<Decimal>,
    /// The mean number of outflow transactions for the last three months.
    pub mean_num_outgoing_transactions_3m: Option<Decimal>,
    /// The mean number of outflow transactions for the last six months.
    pub mean_num_outgoing_transactions_6m: Option<Decimal>,
    /// The mean number of outflow transactions for the last twelve months.
    pub mean_num_outgoing_transactions_12m: Option<Decimal>,
    /// The total sum of all outflow transactions for the last three days.
    pub sum_outgoing_amount_3d: Option<Decimal>,
    /// The total sum of all outflow transactions for the last six months.
    pub sum_outgoing_amount_6m: Option<Decimal>,
    /// The total sum of all outflow transactions for the last twelve months.
    pub sum_outgoing_amount_12m: Option<Decimal>,
    /// The highest value outflow transaction in the last three days.
    pub max_outgoing_amount_3d: Option<Decimal>,
    /// The highest value outflow transaction in the last six months.
    pub max_outgoing_amount_6m: Option<Decimal>,
    /// The highest value outflow transaction in the last twelve months.
    pub max_outgoing_amount_12m: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last three days.
    pub mean_outgoing_amount_3d: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last six months.
    pub mean_outgoing_amount_6m: Option<Decimal>,
    /// The mean outgoing value of all transaction in the last twelve months.
    pub mean_outgoing_amount_12m: Option<Decimal>,
    /// The number of days that no transactions occurred within the last three days.
    pub days_without_transactions_3d: Option<i64>,
    /// The number of days that no transactions occurred within the last week.
    pub days_without_transactions_1w: Option<i64>,
    /// The number of days that no transactions occurred within the last month.
    pub days_without_transactions_1m: Option<i64>,
    /// The number of days that no transactions occurred within the last three months.
    pub days_without_transactions_3m: Option<i64>,
    /// The number of days that no transactions occurred within the last six months.
    pub days_without_transactions_6m: Option<i64>,
    /// The number of days that no transactions occurred within the last twelve months.
    pub days_without_transactions_12m: Option<i64>,
    /// The number of days since the last transaction occurred.
    pub days_since_last_transaction: Option<i64>,
    /// The number of days since the last inflow transaction occurred.
    pub days_since_last_incoming_transaction: Option<i64>,
    /// The number of days since the last outflow transaction occurred.
    pub days_since_last_outgoing_transaction: Option<i64>,
    /// The number of days between when the risk insight request was made and the first transaction.
    pub days_history: Option<i64>,
}

/// RiskInsightsBalanceMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsBalanceMetrics {
    /// The minimum balance in the period (one week).
    pub min_balance_1w: Option<Decimal>,
    /// The minimum balance in the period (one month).
    pub min_balance_1m: Option<Decimal>,
    /// The minimum balance in the period (three months).
    pub min_balance_3m: Option<Decimal>,
    /// The maximum balance in the period (one week).
    pub max_balance_1w: Option<Decimal>,
    /// The maximum balance in the period (one month).
    pub max_balance_1m: Option<Decimal>,
    /// The maximum balance in the period (three months).
    pub max_balance_3m: Option<Decimal>,
    /// The balance of all the accounts at the `collected_at` time.
    pub closing_balance: Option<Decimal>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last week.
    pub days_balance_below_0_1w: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last month.
    pub days_balance_below_0_1m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last three months.
    pub days_balance_below_0_3m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last week.
    pub days_balance_below_x_1w: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last month.
    pub days_balance_below_x_1m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last three months.
    pub days_balance_below_x_3m: Option<i64>,
    /// The threshold used to compute `days_balance_below_x_period`.
    pub balance_threshold_x: Option<Decimal>,
    /// The minimum balance in the last three days.
    pub min_balance_3d: Option<Decimal>,
    /// The minimum balance in the six last months.
    pub min_balance_6m: Option<Decimal>,
    /// The minimum balance in the last twelve months.
    pub min_balance_12m: Option<Decimal>,
    /// The mean balance in the last three days.
    pub mean_balance_3d: Option<Decimal>,
    /// The mean balance in the last week.
    pub mean_balance_1w: Option<Decimal>,
    /// The mean balance in the last month.
    pub mean_balance_1m: Option<Decimal>,
    /// The mean balance in the last three months.
    pub mean_balance_3m: Option<Decimal>,
    /// The mean balance in the last six months.
    pub mean_balance_6m: Option<Decimal>,
    /// The mean balance in the last twelve months.
    pub mean_balance_12m: Option<Decimal>,
    /// The maximum balance in the last three days.
    pub max_balance_3d: Option<Decimal>,
    /// The maximum balance in the last six months.
    pub max_balance_6m: Option<Decimal>,
    /// The maximum balance in the last twelve months.
    pub max_balance_12m: Option<Decimal>,
    /// The balance standard deviation in the last three days.
    pub std_balance_3d: Option<Decimal>,
    /// The balance standard deviation in the last week.
    pub std_balance_1w: Option<Decimal>,
    /// The balance standard deviation in the last month.
    pub std_balance_1m: Option<Decimal>,
    /// The balance standard deviation in the last three months.
    pub std_balance_3m: Option<Decimal>,
    /// The balance standard deviation in the last six months.
    pub std_balance_6m: Option<Decimal>,
    /// The balance standard deviation in the last twelve months.
    pub std_balance_12m: Option<Decimal>,
    /// The balance trend of the user in the last three days.
    pub balance_trend_3d: Option<Decimal>,
    /// The balance trend of the user in the last week.
    pub balance_trend_1w: Option<Decimal>,
    /// The balance trend of the user in the last month.
    pub balance_trend_1m: Option<Decimal>,
    /// The balance trend of the user in the last three months.
    pub balance_trend_3m: Option<Decimal>,
    /// The balance trend of the user in the last six months.
    pub balance_trend_6m: Option<Decimal>,
    /// The balance trend of the user in the last twelve months.
    pub balance_trend_12m: Option<Decimal>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last three days.
    pub days_balance_below_0_3d: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last six months.
    pub days_balance_below_0_6m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to 0 in the last twelve months.
    pub days_balance_below_0_12m: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_3d`.
    pub days_balance_below_mean_3d: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_1w`.
    pub days_balance_below_mean_1w: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_1m`.
    pub days_balance_below_mean_1m: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_3m`.
    pub days_balance_below_mean_3m: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_6m`.
    pub days_balance_below_mean_6m: Option<i64>,
    /// The number of days that the mean balance of the account is less than or equal to the amount specified in `mean_daily_balance_12m`.
    pub days_balance_below_mean_12m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last three days.
    pub days_balance_below_x_3d: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last six months.
    pub days_balance_below_x_6m: Option<i64>,
    /// The number of days that the total balance of the account is less than or equal to the amount specified in `balance_threshold_x` in the last twelve months.
    pub days_balance_below_x_12m: Option<i64>,
}

/// RiskInsightsCashflowMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsCashflowMetrics {
    /// Sum total of all transactions leading to a positive cashflow in the last week (counted from the time of the request).
    pub sum_positive_1w: Option<Decimal>,
    /// Sum total of all transactions leading to a positive cashflow in the last month (counted from the time of the request).
    pub sum_positive_1m: Option<Decimal>,
    /// Sum total of all transactions leading to a positive cashflow in the last three months (counted from the time of the request).
    pub sum_positive_3m: Option<Decimal>,
    /// Sum total of all transactions leading to a negative cashflow in the last week (counted from the time of the request).
    pub sum_negative_1w: Option<Decimal>,
    /// Sum total of all transactions leading to a negative cashflow in the last month (counted from the time of the request).
    pub sum_negative_1m: Option<Decimal>,
    /// Sum total of all transactions leading to a negative cashflow in the last three months (counted from the time of the request).
    pub sum_negative_3m: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last week (counted from the time of the request).
    pub positive_to_negative_ratio_1w: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last month (counted from the time of the request).
    pub positive_to_negative_ratio_1m: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last three months (counted from the time of the request).
    pub positive_to_negative_ratio_3m: Option<Decimal>,
    /// The highest value of positive cash flow transactions in the last three days.
    pub max_positive_3d: Option<Decimal>,
    /// The highest value of positive cash flow transactions the last week.
    pub max_positive_1w: Option<Decimal>,
    /// The highest value of positive cash flow transactions the last month.
    pub max_positive_1m: Option<Decimal>,
    /// The highest value of positive cash flow transactions the last three months.
    pub max_positive_3m: Option<Decimal>,
    /// The highest value of positive cash flow transactions the last six months.
    pub max_positive_6m: Option<Decimal>,
    /// The highest value of positive cash flow transactions the last twelve months.
    pub max_positive_12m: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last three days.
    pub max_negative_3d: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last week.
    pub max_negative_1w: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last month.
    pub max_negative_1m: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last three months.
    pub max_negative_3m: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last six months.
    pub max_negative_6m: Option<Decimal>,
    /// The highest value of negative cash flow transactions in the last twelve months.
    pub max_negative_12m: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last three days.
    pub mean_positive_3d: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last week.
    pub mean_positive_1w: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last month.
    pub mean_positive_1m: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last three months.
    pub mean_positive_3m: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last six months.
    pub mean_positive_6m: Option<Decimal>,
    /// The mean value of the positive cash flow transactions in the last twelve months.
    pub mean_positive_12m: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last three days.
    pub mean_negative_3d: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last week.
    pub mean_negative_1w: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last month.
    pub mean_negative_1m: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last three months.
    pub mean_negative_3m: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last six months.
    pub mean_negative_6m: Option<Decimal>,
    /// The mean value of the negative cash flow transactions in the last twelve months.
    pub mean_negative_12m: Option<Decimal>,
    /// The sum total of all transactions leading to a positive cash flow in the last three days.
    pub sum_positive_3d: Option<Decimal>,
    /// The sum total of all transactions leading to a positive cash flow in the last six months.
    pub sum_positive_6m: Option<Decimal>,
    /// The sum total of all transactions leading to a positive cash flow in the last twelve months.
    pub sum_positive_12m: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last three days.
    pub sum_positive_trend_3d: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last week.
    pub sum_positive_trend_1w: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last month.
    pub sum_positive_trend_1m: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last three months.
    pub sum_positive_trend_3m: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last six months.
    pub sum_positive_trend_6m: Option<Decimal>,
    /// The positive cash flow trend based on the sum of all positive transactions in the last twelve months.
    pub sum_positive_trend_12m: Option<Decimal>,
    /// The sum total of all transactions leading to a negative cash flow in the last three days.
    pub sum_negative_3d: Option<Decimal>,
    /// The sum total of all transactions leading to a negative cash flow in the last six months.
    pub sum_negative_6m: Option<Decimal>,
    /// The sum total of all transactions leading to a negative cash flow in the last twelve months.
    pub sum_negative_12m: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last three days.
    pub sum_negative_trend_3d: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last week.
    pub sum_negative_trend_1w: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last month.
    pub sum_negative_trend_1m: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last three months.
    pub sum_negative_trend_3m: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last six months.
    pub sum_negative_trend_6m: Option<Decimal>,
    /// The negative cash flow trend based on the sum of all negative transactions in the last twelve months.
    pub sum_negative_trend_12m: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last three days.
    pub positive_to_negative_ratio_3d: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last six months.
    pub positive_to_negative_ratio_6m: Option<Decimal>,
    /// The ratio between sum_positive / sum_negative in the last twelve months.
    pub positive_to_negative_ratio_12m: Option<Decimal>,
    /// The net cash flow in the last three days.
    pub net_cashflow_3d: Option<Decimal>,
    /// The net cash flow in the last week.
    pub net_cashflow_1w: Option<Decimal>,
    /// The net cash flow in the last month.
    pub net_cashflow_1m: Option<Decimal>,
    /// The net cash flow in the last three months.
    pub net_cashflow_3m: Option<Decimal>,
    /// The net cash flow in the last six months.
    pub net_cashflow_6m: Option<Decimal>,
    /// The net cash flow in the last twelve months.
    pub net_cashflow_12m: Option<Decimal>,
    /// The net cash flow trend in the last three days months.
    pub net_cashflow_trend_3d: Option<Decimal>,
    /// The net cash flow trend in the last week.
    pub net_cashflow_trend_1w: Option<Decimal>,
    /// The net cash flow trend in the last month.
    pub net_cashflow_trend_1m: Option<Decimal>,
    /// The net cash flow trend in the last three months.
    pub net_cashflow_trend_3m: Option<Decimal>,
    /// The net cash flow trend in the last six months.
    pub net_cashflow_trend_6m: Option<Decimal>,
    /// The net cash flow trend in the last twelve months.
    pub net_cashflow_trend_12m: Option<Decimal>,
}

/// RiskInsightsCreditCardMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsCreditCardMetrics {
    /// Number of credit cards accounts associated to the link.
    pub num_accounts: Option<i64>,
    /// Sum total of all credit cards' limits.
    pub sum_credit_limit: Option<Decimal>,
    /// Sum total of all credit used.
    pub sum_credit_used: Option<Decimal>,
    /// The percentage of the credit card limit used.
    pub credit_card_limit_utilization: Option<Decimal>,
}

/// RiskInsightsLoansMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsLoansMetrics {
    /// Number of loan accounts associated with the link.
    pub num_accounts: Option<i64>,
    /// Sum total of the principal for all of the link's loan accounts.
    pub sum_loans_principal: Option<Decimal>,
    /// Sum total of the outstanding principal for all the link's loan accounts.
    pub sum_loans_outstanding_principal: Option<Decimal>,
    /// Sum total of the monthly payments for all the link's loan accounts.
    pub sum_loans_monthly_payment: Option<Decimal>,
    /// The percentage of the loan limit used.
    pub loan_limit_utilization: Option<Decimal>,
    /// The total overdraft limit of all checking and savings accounts.
    pub overdraft_limit: Option<Decimal>,
    /// The percentage of the overdraft limit used.
    pub overdraft_limit_utilization: Option<Decimal>,
}

/// RiskInsightsAssetMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsAssetMetrics {
    /// An array of institutions from which account information was retrieved for the user.
    pub institutions: Option<Vec<String>>,
    /// The total number of accounts found for the user.
    pub num_assets_accounts: Option<i64>,
    /// The total number of checking accounts found for the user.
    pub num_checking_accounts: Option<i64>,
    /// The total number of savings accounts found for the user.
    pub num_savings_accounts: Option<i64>,
    /// The total closing balance of all checking accounts.
    pub checking_accounts_balance: Option<Decimal>,
    /// The total closing balance of all savings accounts.
    pub savings_accounts_balance: Option<Decimal>,
}

/// RiskInsightsCategoryMetrics
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskInsightsCategoryMetrics {
    /// The name of the transaction category.
    pub category: Option<TransactionCategory>,
    /// The transaction subcategory.
    pub subcategory: Option<TransactionSubcategory>,
    /// The net amount of the transactions for this category in the last three months (calculated as the total incoming - total outgoing transactions for this category).
    pub net_amount_3m: Option<Decimal>,
    /// The ratio of `net_amount_3m` divided by the sum of all incoming categorized transactions (including the current category) for the same period.
    pub category_inflow_ratio_3m: Option<Decimal>,
    /// The net category transaction trend (incoming - outgoing transactions for the category) for the period.
    pub trend_3m: Option<Decimal>,
}

string_enum! {
    /// IncomeSourceType
    pub enum IncomeSourceType {
        Bank = "BANK",
    }
}

string_enum! {
    /// RecurringExpenseFrequency
    pub enum RecurringExpenseFrequency {
        Monthly = "MONTHLY",
    }
}

string_enum! {
    /// RecurringExpenseCategory
    pub enum RecurringExpenseCategory {
        BillsAndUtilities = "Bills & Utilities",
        CreditsAndLoans = "Credits & Loans",
        Insurance = "Insurance",
        OnlinePlatformsAndLeisure = "Online Platforms & Leisure",
        TransportAndTravel = "Transport & Travel",
        Taxes = "Taxes",
    }
}

string_enum! {
    /// RecurringExpensePaymentType
    pub enum RecurringExpensePaymentType {
        Subscription = "SUBSCRIPTION",
        Regular = "REGULAR",
    }
}

string_enum! {
    /// IncomeStreamType
    pub enum IncomeStreamType {
        Salary = "SALARY",
        Government = "GOVERNMENT",
        Interest = "INTEREST",
        Rent = "RENT",
        Retirement = "RETIREMENT",
        Freelance = "FREELANCE",
        AlternativeIncome = "ALTERNATIVE_INCOME",
        Transfer = "TRANSFER",
        Deposit = "DEPOSIT",
        Pension = "PENSION",
        Unknown = "UNKNOWN",
    }
}

string_enum! {
    /// IncomeStreamFrequency
    pub enum IncomeStreamFrequency {
        Monthly = "MONTHLY",
        Biweekly = "BIWEEKLY",
        Weekly = "WEEKLY",
        Irregular = "IRREGULAR",
        Single = "SINGLE",
        Fortnightly = "FORTNIGHTLY",
    }
}

string_enum! {
    /// IncomeStreamConfidence
    pub enum IncomeStreamConfidence {
        High = "HIGH",
        Medium = "MEDIUM",
        Low = "LOW",
    }
}
