/// @file
/// Talking to AWS without the AWS SDK: SigV4 signing, S3 and DynamoDB on
/// `muster::http`.
///
/// @code
/// #include <muster/aws.hpp>
/// auto cfg = muster::aws::config::from_env();
/// muster::aws::s3 s3{http_client, cfg};
/// muster::aws::dynamodb ddb{http_client, cfg};
/// @endcode
#pragma once

#include <muster/aws/attribute.hpp>
#include <muster/aws/config.hpp>
#include <muster/aws/dynamodb.hpp>
#include <muster/aws/error.hpp>
#include <muster/aws/s3.hpp>
#include <muster/aws/sigv4.hpp>
